// Package catalog holds what the policy needs to know about the world: APIs with their
// resources and scopes, applications with the client IDs bound to them, and
// subscriptions. It loads them from a YAML or JSON file, rejects inconsistent data with
// a message that says where, and renders them as the OPA data document the policy reads.
package catalog

import (
	"fmt"
	"os"

	"github.com/tollgate/tollgate/authz/config"
)

// Catalog is the data file's content.
type Catalog struct {
	APIs          []API          `yaml:"apis"`
	Applications  []Application  `yaml:"applications"`
	Subscriptions []Subscription `yaml:"subscriptions"`
}

// API is a published API: a context path, optional hosts, and its resources.
type API struct {
	Name string `yaml:"name"`
	// Context is the API's base path; it matches whole path segments.
	Context string `yaml:"context"`
	// Hosts, when set, restricts the API to these :authority hosts (port ignored).
	Hosts     []string   `yaml:"hosts"`
	Resources []Resource `yaml:"resources"`
}

// Auth values of a resource.
const (
	AuthRequired = "required"
	AuthNone     = "none"
)

// Resource is one operation of an API: a method and a path template, with the scopes a
// token must carry (all of them) to call it.
type Resource struct {
	Method string `yaml:"method"`
	// Path is an absolute path template under the API's context: literal segments,
	// {param} for one segment, and * (last only) for the rest of the path.
	Path   string   `yaml:"path"`
	Scopes []string `yaml:"scopes"`
	// Auth is "required" (the default) or "none" for a public resource.
	Auth string `yaml:"auth"`
}

// ID is the resource's key in its API: "METHOD path".
func (r Resource) ID() string { return r.Method + " " + r.Path }

// Application is a consumer of APIs, identified by the client IDs bound to it.
type Application struct {
	Name      string     `yaml:"name"`
	ClientIDs []ClientID `yaml:"client_ids"`
}

// Environments of a client ID.
const (
	Production = "production"
	Sandbox    = "sandbox"
)

// ClientID binds an issuer's OAuth2 client ID to one application.
type ClientID struct {
	// Issuer is the name of a configured issuer.
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// Environment is production or sandbox.
	Environment string `yaml:"environment"`
}

// Subscription statuses.
const (
	Active          = "active"
	Blocked         = "blocked"
	ProdOnlyBlocked = "prod_only_blocked"
)

// Subscription lets an application call an API while its status allows it.
type Subscription struct {
	Application string `yaml:"application"`
	API         string `yaml:"api"`
	Status      string `yaml:"status"`
}

// Load reads a YAML or JSON data file, strictly, and validates it against the issuer
// names it may refer to.
func Load(path string, issuers []string) (*Catalog, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read data: %w", err)
	}
	c, err := Parse(raw, issuers)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes and validates a data document.
func Parse(raw []byte, issuers []string) (*Catalog, error) {
	var c Catalog
	if err := config.DecodeStrict(raw, &c); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if err := c.Validate(issuers); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Catalog) applyDefaults() {
	for i := range c.APIs {
		for j := range c.APIs[i].Resources {
			if c.APIs[i].Resources[j].Auth == "" {
				c.APIs[i].Resources[j].Auth = AuthRequired
			}
		}
	}
	for i := range c.Subscriptions {
		if c.Subscriptions[i].Status == "" {
			c.Subscriptions[i].Status = Active
		}
	}
}
