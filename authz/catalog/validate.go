package catalog

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Names of APIs and applications travel in headers and logs, so they are kept plain.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// A scope is an RFC 6749 section 3.3 scope-token: printable ASCII without space, '"' or '\'.
var scopePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]+$`)

// A client ID is RFC 6749 VSCHAR without leading or trailing space.
var clientIDPattern = regexp.MustCompile(`^[\x21-\x7E]([\x20-\x7E]*[\x21-\x7E])?$`)

// issuerNamePattern is the form of a configured issuer's name (see config.Issuer).
var issuerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

var hostPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$`)

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// ValidateName returns an error unless name is a valid API or application name.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("name %q must be 1-128 letters, digits, '.', '_' or '-'", name)
	}
	return nil
}

// ValidateClientID returns an error unless id is a valid client ID.
func ValidateClientID(id string) error {
	if !clientIDPattern.MatchString(id) {
		return fmt.Errorf("client_id %q must be printable ASCII", id)
	}
	return nil
}

// ValidateEnvironment returns an error unless env is Production or Sandbox.
func ValidateEnvironment(env string) error {
	if env != Production && env != Sandbox {
		return fmt.Errorf("environment %q must be production or sandbox", env)
	}
	return nil
}

// ValidateStatus returns an error unless status is a subscription status.
func ValidateStatus(status string) error {
	switch status {
	case Active, Blocked, ProdOnlyBlocked:
		return nil
	}
	return fmt.Errorf("status %q must be active, blocked or prod_only_blocked", status)
}

// Validate checks the catalog and returns every problem found, each saying where.
// issuers are the configured issuer names that client IDs may refer to.
func (c *Catalog) Validate(issuers []string) error {
	return c.validate(func(name string) bool { return slices.Contains(issuers, name) },
		"is not a configured issuer ("+strings.Join(issuers, ", ")+")")
}

// ValidateStructure checks all Validate does but the issuer names of client IDs: what
// a store must keep true whatever issuers a configuration trusts.
func (c *Catalog) ValidateStructure() error {
	return c.validate(func(name string) bool { return issuerNamePattern.MatchString(name) },
		"is not a valid issuer name")
}

// UnknownIssuers returns, sorted, the issuer names client IDs refer to that are not
// among issuers.
func (c *Catalog) UnknownIssuers(issuers []string) []string {
	var unknown []string
	for _, app := range c.Applications {
		for _, b := range app.ClientIDs {
			if !slices.Contains(issuers, b.Issuer) && !slices.Contains(unknown, b.Issuer) {
				unknown = append(unknown, b.Issuer)
			}
		}
	}
	slices.Sort(unknown)
	return unknown
}

// validate checks the catalog; knownIssuer says whether a client ID's issuer name is
// acceptable, and why not is the message when it is not.
func (c *Catalog) validate(knownIssuer func(string) bool, whyNot string) error {
	var errs []error
	errs = append(errs, c.validateAPIs()...)
	errs = append(errs, c.validateApplications(knownIssuer, whyNot)...)
	errs = append(errs, c.validateSubscriptions()...)
	if len(errs) == 0 {
		if _, err := c.Router(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Catalog) validateAPIs() []error {
	var errs []error
	seen := map[string]int{}
	for i, a := range c.APIs {
		where := fmt.Sprintf("apis[%d] %q", i, a.Name)
		errs = append(errs, checkName(where, "apis", a.Name, i, seen)...)
		for _, h := range a.Hosts {
			if !hostPattern.MatchString(h) {
				errs = append(errs, fmt.Errorf("%s: host %q must be a lowercase host name without port", where, h))
			}
		}
		if len(a.Resources) == 0 {
			errs = append(errs, fmt.Errorf("%s: has no resources", where))
		}
		for j, r := range a.Resources {
			for _, err := range r.validate() {
				errs = append(errs, fmt.Errorf("%s: resources[%d] %q: %w", where, j, r.ID(), err))
			}
		}
	}
	return errs
}

// checkName checks the name of entry i of a list and records it in seen, reporting an
// earlier entry with the same name.
func checkName(where, list, name string, i int, seen map[string]int) []error {
	var errs []error
	if ValidateName(name) != nil {
		errs = append(errs, fmt.Errorf("%s: name must be 1-128 letters, digits, '.', '_' or '-'", where))
	}
	if j, dup := seen[name]; dup {
		errs = append(errs, fmt.Errorf("%s: name is also used by %s[%d]", where, list, j))
	}
	seen[name] = i
	return errs
}

func (r Resource) validate() []error {
	var errs []error
	if !slices.Contains(methods, r.Method) {
		errs = append(errs, fmt.Errorf("method %q must be one of %s", r.Method, strings.Join(methods, ", ")))
	}
	switch r.Auth {
	case AuthRequired:
	case AuthNone:
		if len(r.Scopes) > 0 {
			errs = append(errs, errors.New("a public resource (auth: none) cannot require scopes"))
		}
	default:
		errs = append(errs, fmt.Errorf("auth %q must be required or none", r.Auth))
	}
	for _, s := range r.Scopes {
		if !scopePattern.MatchString(s) {
			errs = append(errs, fmt.Errorf("scope %q is not a valid scope token (printable ASCII, no space, '\"' or '\\')", s))
		}
	}
	return errs
}

func (c *Catalog) validateApplications(knownIssuer func(string) bool, whyNot string) []error {
	var errs []error
	seen := map[string]int{}
	bound := map[[2]string]string{}
	for i, app := range c.Applications {
		where := fmt.Sprintf("applications[%d] %q", i, app.Name)
		errs = append(errs, checkName(where, "applications", app.Name, i, seen)...)
		for j, b := range app.ClientIDs {
			at := fmt.Sprintf("%s: client_ids[%d]", where, j)
			if !knownIssuer(b.Issuer) {
				errs = append(errs, fmt.Errorf("%s: issuer %q %s", at, b.Issuer, whyNot))
			}
			if err := ValidateClientID(b.ClientID); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
			}
			if err := ValidateEnvironment(b.Environment); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at, err))
			}
			key := [2]string{b.Issuer, b.ClientID}
			if other, dup := bound[key]; dup {
				errs = append(errs, fmt.Errorf("%s: client ID %q of issuer %q is already bound to application %q; a client ID belongs to exactly one application", at, b.ClientID, b.Issuer, other))
				continue
			}
			bound[key] = app.Name
		}
	}
	return errs
}

func (c *Catalog) validateSubscriptions() []error {
	apis := map[string]bool{}
	for _, a := range c.APIs {
		apis[a.Name] = true
	}
	apps := map[string]bool{}
	for _, a := range c.Applications {
		apps[a.Name] = true
	}
	var errs []error
	seen := map[[2]string]int{}
	for i, s := range c.Subscriptions {
		where := fmt.Sprintf("subscriptions[%d] %s -> %s", i, s.Application, s.API)
		if !apps[s.Application] {
			errs = append(errs, fmt.Errorf("%s: unknown application %q", where, s.Application))
		}
		if !apis[s.API] {
			errs = append(errs, fmt.Errorf("%s: unknown API %q", where, s.API))
		}
		if err := ValidateStatus(s.Status); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		key := [2]string{s.Application, s.API}
		if j, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("%s: duplicates subscriptions[%d]", where, j))
		}
		seen[key] = i
	}
	return errs
}
