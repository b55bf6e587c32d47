package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/tollgate/tollgate/authz/policy"
)

// explanation is the --explain part of a check report: the policy rules that held, in
// the order they held, each marked when it decided (see policy.Trace.Rules).
type explanation struct {
	Rules []explainedRule `json:"rules"`
}

// explainedRule is one rule that held.
type explainedRule struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Rule string `json:"rule"`
	// Expr is the rule's first expression as written, or its value.
	Expr    string `json:"expr"`
	Decided bool   `json:"decided"`
}

func newExplanation(rules []policy.Rule) *explanation {
	x := &explanation{Rules: make([]explainedRule, len(rules))}
	for i, r := range rules {
		x.Rules[i] = explainedRule{File: r.File, Line: r.Line, Rule: r.Head, Expr: r.Expr, Decided: r.Decided}
	}
	return x
}

// print lists the rules as "file:line  rule  expression", then the ones that decided.
func (x *explanation) print(w io.Writer) {
	if len(x.Rules) == 0 {
		fmt.Fprintln(w, "explain: no policy rule held; the policy was not evaluated, or it failed")
		return
	}
	fmt.Fprintln(w, "explain: rules that held, in the order they held")
	x.table(w, func(explainedRule) bool { return true })
	fmt.Fprintln(w, "decided by")
	x.table(w, func(r explainedRule) bool { return r.Decided })
}

func (x *explanation) table(w io.Writer, keep func(explainedRule) bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range x.Rules {
		if keep(r) {
			fmt.Fprintf(tw, "  %s:%d\t%s\t%s\n", r.File, r.Line, r.Rule, r.Expr)
		}
	}
	tw.Flush()
}
