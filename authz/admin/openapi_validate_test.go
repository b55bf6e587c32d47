package admin

import (
	"bytes"
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestOpenAPIDocumentValidates checks the served description with an OpenAPI
// validator, not only its shape.
func TestOpenAPIDocumentValidates(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
}

// TestOpenAPIValidatorCatchesABrokenDocument shows the validator above can fail.
func TestOpenAPIValidatorCatchesABrokenDocument(t *testing.T) {
	broken := bytes.Replace(openAPIDocument, []byte(`"title"`), []byte(`"titel"`), 1)
	doc, err := openapi3.NewLoader().LoadFromData(broken)
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err == nil {
		t.Error("a description without info.title validated")
	}
}
