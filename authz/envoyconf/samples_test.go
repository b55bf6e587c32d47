package envoyconf

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
)

const samples = "../../envoy"

// Every file of envoy/ passes, with and without Tollgate's example configuration, and
// draws no warning: a sample added later is covered without a change here.
func TestSamplesPass(t *testing.T) {
	gitops, err := config.Load("../../examples/gitops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []Options{{}, {TollgateConfig: gitops}} {
		reports, err := ValidateFiles([]string{samples}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(reports) < 6 {
			t.Fatalf("validated %d files of %s; want every sample", len(reports), samples)
		}
		for _, r := range reports {
			if opts.TollgateConfig != nil && filepath.Base(r.File) == mtlsSample {
				continue // for a Tollgate with mTLS: TestTransportToTollgate
			}
			for _, f := range r.Findings {
				if f.Severity != Note {
					t.Errorf("%s", f)
				}
			}
		}
	}
}

// The Tollgate the Istio sample deploys loads as the server would load it from the
// ConfigMap volume the Deployment mounts, and its policy is the repository's.
func TestIstioSampleLoads(t *testing.T) {
	cm, deploy := istioSampleObjects(t)
	data, _ := cm["data"].(map[string]any)
	shipped, err := os.ReadFile("../../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	if data["authz.rego"] != string(shipped) {
		t.Error("the ConfigMap's authz.rego is not an exact copy of policies/authz.rego")
	}
	dir := t.TempDir()
	mountPath, items, configArg := volumeLayout(t, deploy)
	for k, p := range items {
		s, ok := data[k].(string)
		if !ok {
			t.Fatalf("the Deployment mounts key %q, which the ConfigMap lacks", k)
		}
		writeFile(t, filepath.Join(dir, p), s)
	}
	rel, ok := strings.CutPrefix(configArg, mountPath+"/")
	if !ok {
		t.Fatalf("--config %s is not under the volume's mountPath %s", configArg, mountPath)
	}
	cfg, err := config.Load(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(cfg.Data, []string{cfg.Issuers[0].Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Load(context.Background(), cfg.Policies, cat.Document()); err != nil {
		t.Fatal(err)
	}
}

// istioSampleObjects returns the ConfigMap and the Deployment of the Istio sample.
func istioSampleObjects(t *testing.T) (cm, deploy map[string]any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samples, "istio", "tollgate.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := documents(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		obj := d.(map[string]any)
		switch obj["kind"] {
		case "ConfigMap":
			cm = obj
		case "Deployment":
			deploy = obj
		}
	}
	if cm == nil || deploy == nil {
		t.Fatal("envoy/istio/tollgate.yaml lacks its ConfigMap or its Deployment")
	}
	return cm, deploy
}

// volumeLayout returns where the Deployment mounts the ConfigMap, its items (key →
// path) and the --config argument of the container.
func volumeLayout(t *testing.T, deploy map[string]any) (string, map[string]string, string) {
	t.Helper()
	pod := dig(deploy, "spec", "template", "spec")
	container := pod["containers"].([]any)[0].(map[string]any)
	args := container["args"].([]any)
	configArg := ""
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			configArg = args[i+1].(string)
		}
	}
	mount := container["volumeMounts"].([]any)[0].(map[string]any)
	volume := pod["volumes"].([]any)[0].(map[string]any)
	items := map[string]string{}
	for _, it := range volume["configMap"].(map[string]any)["items"].([]any) {
		m := it.(map[string]any)
		items[m["key"].(string)] = m["path"].(string)
	}
	return mount["mountPath"].(string), items, configArg
}

func dig(obj map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		obj = obj[k].(map[string]any)
	}
	return obj
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
