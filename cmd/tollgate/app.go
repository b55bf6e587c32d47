package main

import (
	"context"
	"flag"
	"io"
	"net/url"
	"strings"

	"github.com/tollgate/tollgate/authz/admin"
	"github.com/tollgate/tollgate/authz/catalog"
)

func runApp(args []string, stdout, stderr io.Writer) int {
	return runGroup("app", []subcommand{
		{name: "create", args: []string{"NAME"}, summary: "create an application", run: appCreate},
		{name: "list", summary: "list applications", run: appList},
		{name: "get", args: []string{"NAME"}, summary: "show an application, its bindings and keys", run: appGet},
		{name: "delete", args: []string{"NAME"}, summary: "delete an application, its keys, bindings and subscriptions", run: appDelete},
		{name: "keys", summary: "generate or revoke STS keys", group: []subcommand{appKeysGenerate(), appKeysRevoke()}},
		appBind(),
		appUnbind(),
	}, args, stdout, stderr)
}

func appCreate(ctx context.Context, c *adminClient, a []string, p *printer) error {
	var app admin.Application
	if err := c.do(ctx, "POST", "/admin/v1/applications", map[string]string{"name": a[0]}, &app); err != nil {
		return err
	}
	return p.print(app, []string{"APPLICATION"}, func() [][]string { return [][]string{{app.Name}} })
}

func appList(ctx context.Context, c *adminClient, _ []string, p *printer) error {
	apps, err := listAll[admin.Application](ctx, c, "/admin/v1/applications")
	if err != nil {
		return err
	}
	return p.print(apps, []string{"APPLICATION", "CLIENT IDS", "KEYS"}, func() [][]string {
		rows := make([][]string, len(apps))
		for i, app := range apps {
			rows[i] = []string{app.Name, clientIDs(app.ClientIDs), keyEnvs(app.Keys)}
		}
		return rows
	})
}

func appGet(ctx context.Context, c *adminClient, a []string, p *printer) error {
	var app admin.Application
	if err := c.do(ctx, "GET", "/admin/v1/applications/"+url.PathEscape(a[0]), nil, &app); err != nil {
		return err
	}
	return p.print(app, []string{"APPLICATION", "KIND", "ISSUER", "CLIENT ID", "ENVIRONMENT"}, func() [][]string {
		var rows [][]string
		for _, k := range app.Keys {
			rows = append(rows, []string{app.Name, "key", "tollgate", k.ClientID, k.Environment})
		}
		for _, b := range app.ClientIDs {
			rows = append(rows, []string{app.Name, "binding", b.Issuer, b.ClientID, b.Environment})
		}
		if rows == nil {
			rows = [][]string{{app.Name, "-", "-", "-", "-"}}
		}
		return rows
	})
}

func appDelete(ctx context.Context, c *adminClient, a []string, p *printer) error {
	if err := c.do(ctx, "DELETE", "/admin/v1/applications/"+url.PathEscape(a[0]), nil, nil); err != nil {
		return err
	}
	return p.done("application %s deleted", a[0])
}

func appKeysGenerate() subcommand {
	var env string
	return subcommand{
		name: "generate", args: []string{"APP"},
		summary: "make the application's STS client ID and secret for --env (replacing, so revoking, any it had); the secret is shown once",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&env, "env", catalog.Production, "environment: production or sandbox")
		},
		run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
			var k admin.GeneratedKey
			path := "/admin/v1/applications/" + url.PathEscape(a[0]) + "/keys"
			if err := c.do(ctx, "POST", path, map[string]string{"environment": env}, &k); err != nil {
				return err
			}
			return p.print(k, []string{"APPLICATION", "ENVIRONMENT", "CLIENT ID", "CLIENT SECRET (shown once)"}, func() [][]string {
				return [][]string{{k.Application, k.Environment, k.ClientID, k.ClientSecret}}
			})
		},
	}
}

func appKeysRevoke() subcommand {
	var env string
	return subcommand{
		name: "revoke", args: []string{"APP"}, summary: "revoke the application's STS key for --env",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&env, "env", catalog.Production, "environment: production or sandbox")
		},
		run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
			path := "/admin/v1/applications/" + url.PathEscape(a[0]) + "/keys/" + url.PathEscape(env)
			if err := c.do(ctx, "DELETE", path, nil, nil); err != nil {
				return err
			}
			return p.done("%s key of %s revoked", env, a[0])
		},
	}
}

func appBind() subcommand {
	var b admin.Binding
	return subcommand{
		name: "bind", args: []string{"APP"}, summary: "bind an external IdP's client ID (--issuer, --client-id, --env) to the application",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&b.Issuer, "issuer", "", "the configured issuer's name, e.g. asgardeo")
			fs.StringVar(&b.ClientID, "client-id", "", "the IdP's client ID")
			fs.StringVar(&b.Environment, "env", catalog.Production, "environment: production or sandbox")
		},
		run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
			var app admin.Application
			if err := c.do(ctx, "POST", "/admin/v1/applications/"+url.PathEscape(a[0])+"/bindings", b, &app); err != nil {
				return err
			}
			return p.print(app, []string{"APPLICATION", "CLIENT IDS"}, func() [][]string {
				return [][]string{{app.Name, clientIDs(app.ClientIDs)}}
			})
		},
	}
}

func appUnbind() subcommand {
	var issuer, clientID string
	return subcommand{
		name: "unbind", args: []string{"APP"}, summary: "remove the binding of --issuer's --client-id",
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&issuer, "issuer", "", "the configured issuer's name")
			fs.StringVar(&clientID, "client-id", "", "the IdP's client ID")
		},
		run: func(ctx context.Context, c *adminClient, a []string, p *printer) error {
			path := "/admin/v1/applications/" + url.PathEscape(a[0]) + "/bindings/" + url.PathEscape(issuer) + "/" + url.PathEscape(clientID)
			if err := c.do(ctx, "DELETE", path, nil, nil); err != nil {
				return err
			}
			return p.done("client ID %s of %s unbound from %s", clientID, issuer, a[0])
		},
	}
}

func clientIDs(ids []admin.Binding) string {
	out := make([]string, len(ids))
	for i, b := range ids {
		out[i] = b.Issuer + ":" + b.ClientID + " (" + b.Environment + ")"
	}
	return orDash(strings.Join(out, ", "))
}

func keyEnvs(keys []admin.Key) string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.Environment
	}
	return orDash(strings.Join(out, ", "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
