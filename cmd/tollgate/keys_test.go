package main

import (
	"strings"
	"testing"
	"time"
)

// keyRow is one line of `tollgate keys list`.
type keyRow struct {
	kid, state            string
	signsFrom, signsUntil string
}

// keyRows parses the output of `tollgate keys list` (or rotate), in order.
func keyRows(t *testing.T, out string) []keyRow {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "KID") {
		t.Fatalf("no header in:\n%s", out)
	}
	var rows []keyRow
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) != 7 {
			t.Fatalf("line %q: %d columns, want 7", l, len(f))
		}
		rows = append(rows, keyRow{kid: f[0], state: f[2], signsFrom: f[4], signsUntil: f[5]})
	}
	return rows
}

func states(rows []keyRow) string {
	s := make([]string, len(rows))
	for i, r := range rows {
		s[i] = r.state
	}
	return strings.Join(s, " ")
}

// TestKeysRotate rotates the keys of a store with no server running: `keys rotate`
// pre-publishes the next key (pending, signing key_prepublish from now, when the
// active one stops), `keys rotate --now` makes a key that signs at once and retires
// every other, and `keys list` shows each key's state and times.
func TestKeysRotate(t *testing.T) {
	cfg := quickstartConfig(t)
	if code, _, stderr := runCmd("import", "--config", cfg, "../../examples/data.yaml"); code != exitOK {
		t.Fatalf("import: %s", stderr)
	}
	rotate := func(args ...string) []keyRow {
		t.Helper()
		code, out, stderr := runCmd(append([]string{"keys", "rotate", "--config", cfg}, args...)...)
		if code != exitOK {
			t.Fatalf("keys rotate %v: exit %d\n%s", args, code, stderr)
		}
		return keyRows(t, out)
	}
	// The store has no key yet: the first one signs at once.
	if rows := rotate(); states(rows) != "active" || rows[0].signsUntil != "-" {
		t.Fatalf("first key: %+v", rows)
	}
	start := time.Now()
	rows := rotate()
	if states(rows) != "active pending" {
		t.Fatalf("after keys rotate: %s, want active pending", states(rows))
	}
	from, err := time.Parse(time.RFC3339, rows[1].signsFrom)
	if err != nil {
		t.Fatal(err)
	}
	if d := from.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("the pending key signs from %s, %v from now; want sts.key_prepublish (1h)", rows[1].signsFrom, d)
	}
	if rows[0].signsUntil != rows[1].signsFrom {
		t.Errorf("the active key signs until %s, want until the next one begins (%s)", rows[0].signsUntil, rows[1].signsFrom)
	}

	rows = rotate("--now")
	if states(rows) != "retired retired active" {
		t.Errorf("after keys rotate --now: %s, want retired retired active (the pending key never signs)", states(rows))
	}
	code, out, _ := runCmd("keys", "list", "--config", cfg)
	if listed := keyRows(t, out); code != exitOK || states(listed) != states(rows) {
		t.Errorf("keys list: exit %d\n%s", code, out)
	}
	if code, _, stderr := runCmd("keys", "list", "--now", "--config", cfg); code != exitUsage || !strings.Contains(stderr, "-now") {
		t.Errorf("keys list --now: exit %d, %s; want a usage error", code, stderr)
	}
}
