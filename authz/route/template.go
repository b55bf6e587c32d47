package route

import (
	"fmt"
	"regexp"
	"strings"
)

type segmentKind uint8

const (
	literal  segmentKind = iota // a fixed segment, compared after normalisation
	param                       // {name}: exactly one non-empty segment
	wildcard                    // *: the rest of the path, one segment or more
)

type segment struct {
	kind segmentKind
	text string // the literal, or the parameter's name
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)

// parseTemplate splits a path template into segments. "/" has none; a trailing slash
// is an empty literal last segment.
func parseTemplate(t string) ([]segment, error) {
	if t == "" || t[0] != '/' {
		return nil, fmt.Errorf("template %q must start with /", t)
	}
	if strings.ContainsAny(t, "?#") {
		return nil, fmt.Errorf("template %q must not contain a query or fragment", t)
	}
	if t == "/" {
		return nil, nil
	}
	parts := strings.Split(t[1:], "/")
	segs := make([]segment, 0, len(parts))
	names := map[string]bool{}
	for i, s := range parts {
		last := i == len(parts)-1
		seg, err := parseSegment(s, last)
		if err != nil {
			return nil, fmt.Errorf("template %q: %w", t, err)
		}
		if seg.kind == param {
			if names[seg.text] {
				return nil, fmt.Errorf("template %q: parameter {%s} appears twice", t, seg.text)
			}
			names[seg.text] = true
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

func parseSegment(s string, last bool) (segment, error) {
	switch {
	case s == "*":
		if !last {
			return segment{}, fmt.Errorf("* is allowed only as the last segment")
		}
		return segment{kind: wildcard}, nil
	case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
		name := s[1 : len(s)-1]
		if !paramName.MatchString(name) {
			return segment{}, fmt.Errorf("parameter %q must be {name} with a letter or _ first", s)
		}
		return segment{kind: param, text: name}, nil
	case strings.ContainsAny(s, "{}*"):
		return segment{}, fmt.Errorf("segment %q: {param} and * must fill a whole segment", s)
	case s == "" && !last:
		return segment{}, fmt.Errorf("empty segment (//)")
	case s == "." || s == "..":
		return segment{}, fmt.Errorf("dot segment %q", s)
	}
	norm, err := Normalize("/"+s, true)
	if err != nil || norm != "/"+s {
		return segment{}, fmt.Errorf("segment %q is not in normal form (write it as the normalised path would read)", s)
	}
	return segment{kind: literal, text: s}, nil
}
