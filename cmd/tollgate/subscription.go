package main

import (
	"context"
	"flag"
	"io"
	"net/url"

	"github.com/tollgate/tollgate/authz/admin"
)

func subscriptionPath(app, api string) string {
	return "/admin/v1/subscriptions/" + url.PathEscape(app) + "/" + url.PathEscape(api)
}

// setStatus creates or updates a subscription with status.
func setStatus(status string) func(context.Context, *adminClient, []string, *printer) error {
	return func(ctx context.Context, c *adminClient, a []string, p *printer) error {
		var s admin.Subscription
		if err := c.do(ctx, "PUT", subscriptionPath(a[0], a[1]), map[string]string{"status": status}, &s); err != nil {
			return err
		}
		return printSubscriptions(p, []admin.Subscription{s}, s)
	}
}

func runSubscribe(args []string, stdout, stderr io.Writer) int {
	return runVerb("subscribe", subcommand{args: []string{"APP", "API"}, run: setStatus("active")}, args, stdout, stderr)
}

func runUnsubscribe(args []string, stdout, stderr io.Writer) int {
	return runVerb("unsubscribe", subcommand{args: []string{"APP", "API"}, run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
		if err := c.do(ctx, "DELETE", subscriptionPath(a[0], a[1]), nil, nil); err != nil {
			return err
		}
		return p.done("%s unsubscribed from %s", a[0], a[1])
	}}, args, stdout, stderr)
}

func runSubscription(args []string, stdout, stderr io.Writer) int {
	two := []string{"APP", "API"}
	return runGroup("subscription", []subcommand{
		{name: "block", args: two, summary: "block the subscription: every call of the application to the API is denied", run: setStatus("blocked")},
		{name: "unblock", args: two, summary: "make the subscription active again", run: setStatus("active")},
		{name: "block-production", args: two, summary: "deny production keys, let sandbox keys through", run: setStatus("prod_only_blocked")},
		subscriptionList(),
	}, args, stdout, stderr)
}

func subscriptionList() subcommand {
	var app, apiName string
	return subcommand{
		name: "list", summary: "list subscriptions, of --app or to --api",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&app, "app", "", "only this application's")
			fs.StringVar(&apiName, "api", "", "only those to this API")
		},
		run: func(ctx context.Context, c *adminClient, _ []string, p *printer) error {
			q := url.Values{}
			if app != "" {
				q.Set("application", app)
			}
			if apiName != "" {
				q.Set("api", apiName)
			}
			subs, err := listAll[admin.Subscription](ctx, c, "/admin/v1/subscriptions?"+q.Encode())
			if err != nil {
				return err
			}
			return printSubscriptions(p, subs, subs)
		},
	}
}

func printSubscriptions(p *printer, subs []admin.Subscription, v any) error {
	return p.print(v, []string{"APPLICATION", "API", "STATUS"}, func() [][]string {
		rows := make([][]string, len(subs))
		for i, s := range subs {
			rows[i] = []string{s.Application, s.API, s.Status}
		}
		return rows
	})
}
