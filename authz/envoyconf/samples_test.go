package envoyconf

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/authz/catalog"
	"github.com/tollgate/tollgate/authz/config"
	"github.com/tollgate/tollgate/authz/policy"
	"github.com/tollgate/tollgate/authz/service"
	"github.com/tollgate/tollgate/authz/sts"
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
	objs := sampleObjects(t, "tollgate.yaml", "ConfigMap", "Deployment")
	cfg := loadMounted(t, objs["ConfigMap"], objs["Deployment"])
	if cfg.Store != nil || cfg.Data == "" {
		t.Fatal("tollgate.yaml's configuration is not in data mode")
	}
	cat, err := catalog.Load(cfg.Data, []string{cfg.Issuers[0].Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Load(context.Background(), cfg.Policies, cat.Document()); err != nil {
		t.Fatal(err)
	}
}

// The store-mode sample loads as the server would load it from the StatefulSet's
// volumes: its configuration validates as store mode with the STS on, the store is on
// the volume claim, the policy is the repository's and compiles, every variable the
// container takes from a Secret is a key of the sample's Secret, and the Secret's
// placeholders are refused, while a key made as its comment says is taken.
func TestIstioStoreSampleLoads(t *testing.T) {
	objs := sampleObjects(t, "tollgate-sts.yaml", "ConfigMap", "StatefulSet", "Secret", "Service", "AuthorizationPolicy")
	set := objs["StatefulSet"]
	cfg := loadMounted(t, objs["ConfigMap"], set)
	if cfg.Store == nil || cfg.Data != "" || !cfg.STS.On(cfg.Store) {
		t.Fatal("tollgate-sts.yaml's configuration is not in store mode with the STS on")
	}
	if n, _ := dig(set, "spec")["replicas"].(int); n != 1 {
		t.Errorf("replicas: %d; the SQLite store has one writer", n)
	}
	claim := dig(set, "spec")["volumeClaimTemplates"].([]any)[0].(map[string]any)
	mountPath := mountOf(t, set, dig(claim, "metadata")["name"].(string))
	if !strings.HasPrefix(cfg.Store.Path, mountPath+"/") {
		t.Errorf("store.path %s is not on the volume claim, mounted at %s", cfg.Store.Path, mountPath)
	}
	svcName := objs["Service"]["metadata"].(map[string]any)["name"]
	if want := fmt.Sprintf("http://%s.tollgate.svc.cluster.local:8080", svcName); cfg.STS.Issuer != want {
		t.Errorf("sts.issuer %s; want the Service's URL %s", cfg.STS.Issuer, want)
	}
	if _, err := policy.Load(context.Background(), cfg.Policies, (&catalog.Catalog{}).Document()); err != nil {
		t.Fatal(err)
	}
	// The AuthorizationPolicy keeps admin.address's port to one caller, and only it.
	_, adminPort, _ := net.SplitHostPort(cfg.Admin.Address)
	var ops []string
	for _, r := range dig(objs["AuthorizationPolicy"], "spec")["rules"].([]any) {
		for _, to := range r.(map[string]any)["to"].([]any) {
			ops = append(ops, fmt.Sprint(to.(map[string]any)["operation"]))
		}
	}
	if want := []string{"map[notPorts:[" + adminPort + "]]", "map[ports:[" + adminPort + "]]"}; !slices.Equal(ops, want) {
		t.Errorf("the AuthorizationPolicy's operations are %q; want %q, for admin.address %s", ops, want, cfg.Admin.Address)
	}

	secret := objs["Secret"]
	values, _ := secret["stringData"].(map[string]any)
	refs := secretRefs(t, set)
	for _, env := range []string{service.AdminTokenEnv, sts.StoreKeyEnv} {
		ref, ok := refs[env]
		switch {
		case !ok:
			t.Errorf("the container does not take %s from a Secret", env)
		case ref[0] != secret["metadata"].(map[string]any)["name"]:
			t.Errorf("%s comes from Secret %s, not the sample's", env, ref[0])
		case values[ref[1]] == nil:
			t.Errorf("%s comes from key %q, which the Secret lacks", env, ref[1])
		}
	}
	if len(refs) != len(values) {
		t.Errorf("the container takes %d variables from the Secret, which has %d keys", len(refs), len(values))
	}
	if t.Failed() {
		return
	}
	if tok, _ := values[refs[service.AdminTokenEnv][1]].(string); len(strings.TrimSpace(tok)) >= 16 {
		t.Errorf("the admin token placeholder %q would be accepted (16 characters or more)", tok)
	}
	dir := t.TempDir()
	t.Setenv(sts.StoreKeyEnv, values[refs[sts.StoreKeyEnv][1]].(string))
	if _, err := sts.LoadSealer(filepath.Join(dir, "key"), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("the store key placeholder is accepted")
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	t.Setenv(sts.StoreKeyEnv, base64.StdEncoding.EncodeToString(key)+"\n") // openssl rand -base64 32
	if _, err := sts.LoadSealer(filepath.Join(dir, "key"), slog.New(slog.DiscardHandler)); err != nil {
		t.Errorf("a key of `openssl rand -base64 32`: %v", err)
	}
}

// Each Istio sample holds the policy the repository ships.
func TestIstioSamplesShipThePolicy(t *testing.T) {
	shipped, err := os.ReadFile("../../policies/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"tollgate.yaml", "tollgate-sts.yaml"} {
		data, _ := sampleObjects(t, file, "ConfigMap")["ConfigMap"]["data"].(map[string]any)
		if data["authz.rego"] != string(shipped) {
			t.Errorf("the ConfigMap of %s: authz.rego is not an exact copy of policies/authz.rego", file)
		}
	}
}

// The Istio samples may be applied together: the objects both hold are the same, so
// applying one does not undo the other.
func TestIstioSamplesAgree(t *testing.T) {
	data := sampleDocs(t, "tollgate.yaml")
	store := sampleDocs(t, "tollgate-sts.yaml")
	shared := 0
	for id, obj := range store {
		if other, ok := data[id]; ok {
			shared++
			if !reflect.DeepEqual(obj, other) {
				t.Errorf("%s differs between tollgate.yaml and tollgate-sts.yaml", id)
			}
		}
	}
	if shared != 2 {
		t.Errorf("%d objects in both files; want the Namespace and the PeerAuthentication", shared)
	}
}

// sampleDocs returns the objects of an Istio sample by kind, namespace and name.
func sampleDocs(t *testing.T, file string) map[string]map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(samples, "istio", file))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := documents(raw)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, d := range docs {
		obj := d.(map[string]any)
		meta := obj["metadata"].(map[string]any)
		ns, _ := meta["namespace"].(string)
		out[fmt.Sprintf("%s %s/%s", obj["kind"], ns, meta["name"])] = obj
	}
	return out
}

// sampleObjects returns the one object of each kind of an Istio sample.
func sampleObjects(t *testing.T, file string, kinds ...string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, obj := range sampleDocs(t, file) {
		kind := obj["kind"].(string)
		if !slices.Contains(kinds, kind) {
			continue
		}
		if out[kind] != nil {
			t.Fatalf("envoy/istio/%s has more than one %s", file, kind)
		}
		out[kind] = obj
	}
	for _, k := range kinds {
		if out[k] == nil {
			t.Fatalf("envoy/istio/%s has no %s", file, k)
		}
	}
	return out
}

// loadMounted writes the ConfigMap's keys where the workload mounts them, in a
// temporary directory, and loads the configuration its --config names from there.
func loadMounted(t *testing.T, cm, workload map[string]any) *config.Config {
	t.Helper()
	data, _ := cm["data"].(map[string]any)
	dir := t.TempDir()
	mountPath, items, configArg := volumeLayout(t, workload, cm["metadata"].(map[string]any)["name"].(string))
	for k, p := range items {
		s, ok := data[k].(string)
		if !ok {
			t.Fatalf("the workload mounts key %q, which the ConfigMap lacks", k)
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
	return cfg
}

// volumeLayout returns where the workload mounts the ConfigMap named cm, its items
// (key → path) and the --config argument of the container.
func volumeLayout(t *testing.T, workload map[string]any, cm string) (string, map[string]string, string) {
	t.Helper()
	args := container(workload)["args"].([]any)
	configArg := ""
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			configArg = args[i+1].(string)
		}
	}
	for _, v := range dig(workload, "spec", "template", "spec")["volumes"].([]any) {
		volume := v.(map[string]any)
		source, _ := volume["configMap"].(map[string]any)
		if source == nil || source["name"] != cm {
			continue
		}
		items := map[string]string{}
		for _, it := range source["items"].([]any) {
			m := it.(map[string]any)
			items[m["key"].(string)] = m["path"].(string)
		}
		return mountOf(t, workload, volume["name"].(string)), items, configArg
	}
	t.Fatalf("the workload mounts no ConfigMap %s", cm)
	return "", nil, ""
}

// container returns the workload's first container.
func container(workload map[string]any) map[string]any {
	return dig(workload, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
}

// mountOf returns where the workload's container mounts the volume.
func mountOf(t *testing.T, workload map[string]any, volume string) string {
	t.Helper()
	for _, m := range container(workload)["volumeMounts"].([]any) {
		if mount := m.(map[string]any); mount["name"] == volume {
			return mount["mountPath"].(string)
		}
	}
	t.Fatalf("the container does not mount volume %s", volume)
	return ""
}

// secretRefs returns the container's variables that come from a Secret: name →
// {secret, key}.
func secretRefs(t *testing.T, workload map[string]any) map[string][2]string {
	t.Helper()
	refs := map[string][2]string{}
	env, _ := container(workload)["env"].([]any)
	for _, e := range env {
		v := e.(map[string]any)
		from, _ := v["valueFrom"].(map[string]any)
		ref, _ := from["secretKeyRef"].(map[string]any)
		if ref == nil {
			continue
		}
		secret, _ := ref["name"].(string)
		key, _ := ref["key"].(string)
		refs[v["name"].(string)] = [2]string{secret, key}
	}
	return refs
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

// With two Tollgates among the files, each Service is held to the gRPC port of the
// Tollgate whose pods it selects, found through the ConfigMap they mount.
func TestServiceLeadsToItsTollgate(t *testing.T) {
	read := func(file string) string {
		raw, err := os.ReadFile(filepath.Join(samples, "istio", file))
		if err != nil {
			t.Fatal(err)
		}
		return string(raw)
	}
	sub := func(s, from, to string) string {
		if !strings.Contains(s, from) {
			t.Fatalf("the sample no longer has %q", from)
		}
		return strings.Replace(s, from, to, 1)
	}
	mesh, data, store := read("mesh.yaml"), read("tollgate.yaml"), read("tollgate-sts.yaml")
	toStore := sub(mesh, "service: tollgate.tollgate.svc", "service: tollgate-sts.tollgate.svc")
	store9292 := sub(store, `address: ":9191"`, `address: ":9292"`)
	const stsService = "documents[6](Service tollgate/tollgate-sts).spec.ports[0].targetPort"
	tests := []struct {
		name              string
		mesh, data, store string
		want              string // a finding of any file; "" when every file must pass
		severity          Severity
	}{
		{name: "the data-mode Tollgate, the other on another port", mesh: mesh, data: data, store: store9292},
		{name: "the store-mode Tollgate", mesh: toStore, data: data, store: store},
		{name: "the store-mode Tollgate, its Service to the other's port", mesh: toStore, data: data, store: store9292,
			want: stsService + `: 9191 is not Tollgate's gRPC port 9292 (grpc.address ":9292" of tollgate-sts.yaml documents[4](ConfigMap tollgate/tollgate-sts)`},
		{name: "no pods among the files, the ports differ", mesh: toStore, data: data,
			store: sub(store9292, "kind: StatefulSet", "kind: Template"), severity: Note,
			want: stsService + ": note: the Tollgate ConfigMaps listen on different gRPC ports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reports := validate(t, map[string]string{"mesh.yaml": tt.mesh, "tollgate.yaml": tt.data, "tollgate-sts.yaml": tt.store})
			var all strings.Builder
			found, ok := false, true
			for _, r := range reports {
				all.WriteString(findings(r))
				found = found || hasFinding(r, tt.severity, tt.want)
				ok = ok && r.OK()
			}
			if tt.want != "" && !found {
				t.Errorf("no %s containing %q among:\n%s", tt.severity, tt.want, all.String())
			}
			if wantOK := tt.want == "" || tt.severity != Error; ok != wantOK {
				t.Errorf("every file passes: %v; want %v\n%s", ok, wantOK, all.String())
			}
		})
	}
}
