package envoyconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// documents decodes every YAML (or JSON) document of raw into plain values: maps with
// string keys, slices, strings, numbers, booleans and nil. Empty documents are left out.
func documents(raw []byte) ([]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []any
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("YAML: %w", err)
		}
		if doc == nil {
			continue
		}
		docs = append(docs, stringKeys(doc))
	}
}

// stringKeys returns v with every map keyed by strings, as JSON needs: YAML also allows
// numbers and booleans as keys, which are turned into their text.
func stringKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = stringKeys(e)
		}
		return t
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[fmt.Sprint(k)] = stringKeys(e)
		}
		return out
	case []any:
		for i, e := range t {
			t[i] = stringKeys(e)
		}
		return t
	}
	return v
}

// toJSON encodes a plain value as JSON, for protojson.
func toJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("not representable as JSON: %w", err)
	}
	return raw, nil
}
