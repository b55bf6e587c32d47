package envoyconf

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
)

// anyName is the full name of google.protobuf.Any, whose JSON form names its type.
const anyName protoreflect.FullName = "google.protobuf.Any"

// hints say how to write the well-known types whose form surprises.
var hints = map[protoreflect.FullName]string{
	"google.protobuf.Duration":  ` (a string such as "0.5s" or "1m")`,
	"google.protobuf.Timestamp": ` (an RFC 3339 string)`,
}

// decode fills msg from a plain value strictly, as Envoy and Istio read their
// configuration: an unknown field, an Any of a type that is not registered, or a value
// of the wrong kind is an error. On failure it reports where, in the document's keys,
// and returns false.
func decode(tree any, msg proto.Message, path string, r *report) bool {
	raw, err := toJSON(tree)
	if err != nil {
		r.errorf(path, "%v", err)
		return false
	}
	if err := protojson.Unmarshal(raw, msg); err == nil {
		return true
	}
	locate(tree, msg.ProtoReflect().Type(), path, r)
	return false
}

// locate reports why tree, which does not decode as mt, fails: it descends into the
// deepest part that fails on its own, so the path names the field at fault.
func locate(tree any, mt protoreflect.MessageType, path string, r *report) {
	md := mt.Descriptor()
	if md.FullName() == anyName {
		locateAny(tree, path, r)
		return
	}
	if isWellKnown(md) {
		r.errorf(path, "not a valid %s%s: %s", md.FullName(), hints[md.FullName()], decodeError(tree, mt))
		return
	}
	obj, ok := tree.(map[string]any)
	if !ok {
		r.errorf(path, "%s", decodeError(tree, mt))
		return
	}
	found := false
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		fd := fieldNamed(md, k)
		if fd == nil {
			r.errorf(field(path, k), "unknown field %q in %s", k, md.FullName())
			found = true
			continue
		}
		if locateField(obj[k], fd, field(path, k), r) {
			found = true
		}
	}
	if !found {
		r.errorf(path, "%s", decodeError(tree, mt))
	}
}

// locateField locates the failures of the messages a field's value holds, and reports
// whether it found one. Scalar fields are left to the message that holds them.
func locateField(v any, fd protoreflect.FieldDescriptor, path string, r *report) bool {
	switch {
	case v == nil:
		return false
	case fd.IsMap():
		m, ok := v.(map[string]any)
		if !ok || fd.MapValue().Message() == nil {
			return false
		}
		mt := messageType(fd.MapValue().Message())
		found := false
		for _, k := range slices.Sorted(maps.Keys(m)) {
			found = locateIfFails(m[k], mt, key(path, k), r) || found
		}
		return found
	case fd.Message() == nil:
		return false
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			return false
		}
		mt := messageType(fd.Message())
		found := false
		for i, e := range list {
			found = locateIfFails(e, mt, index(path, i), r) || found
		}
		return found
	}
	return locateIfFails(v, messageType(fd.Message()), path, r)
}

func locateIfFails(v any, mt protoreflect.MessageType, path string, r *report) bool {
	if decodeError(v, mt) == "" {
		return false
	}
	locate(v, mt, path, r)
	return true
}

// locateAny locates the failure of an Any: its @type must be registered, and the rest
// of the object must decode as that type.
func locateAny(tree any, path string, r *report) {
	obj, ok := tree.(map[string]any)
	if !ok {
		r.errorf(path, "must be an object with an @type")
		return
	}
	url, _ := obj["@type"].(string)
	if url == "" {
		r.errorf(path, "@type is missing: a typed config must name its type")
		return
	}
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(url)
	if err != nil {
		r.errorf(field(path, "@type"), "unknown type %q: not a type of the Envoy API this validator knows", url)
		return
	}
	var value any = without(obj, "@type")
	if isWellKnown(mt.Descriptor()) {
		value = obj["value"]
	}
	if !locateIfFails(value, mt, path, r) {
		r.errorf(path, "%s", decodeError(tree, (&anypb.Any{}).ProtoReflect().Type()))
	}
}

// decodeError returns why v does not decode as mt, or "" when it does.
func decodeError(v any, mt protoreflect.MessageType) string {
	raw, err := toJSON(v)
	if err != nil {
		return err.Error()
	}
	if err := protojson.Unmarshal(raw, mt.New().Interface()); err != nil {
		return cleanProtoError(err)
	}
	return ""
}

var protoErrorNoise = regexp.MustCompile(`^proto:[\s\x{00a0}]*|\s*\(line \d+:\d+\)`)

// cleanProtoError drops protojson's prefix and its positions in the generated JSON,
// which mean nothing in the file.
func cleanProtoError(err error) string {
	msg := protoErrorNoise.ReplaceAllString(err.Error(), "")
	return strings.TrimSpace(strings.TrimPrefix(msg, ":"))
}

// fieldNamed finds a field by its JSON or its proto name, as protojson does.
func fieldNamed(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if fd := md.Fields().ByJSONName(name); fd != nil {
		return fd
	}
	return md.Fields().ByTextName(name)
}

// messageType returns the registered Go type of md, or a dynamic one.
func messageType(md protoreflect.MessageDescriptor) protoreflect.MessageType {
	if mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName()); err == nil {
		return mt
	}
	return dynamicpb.NewMessageType(md)
}

// isWellKnown reports a google.protobuf type, whose JSON form is not an object of its
// fields (Duration, Struct, wrappers...).
func isWellKnown(md protoreflect.MessageDescriptor) bool {
	return md.ParentFile().Package() == "google.protobuf"
}

func without(obj map[string]any, k string) map[string]any {
	out := maps.Clone(obj)
	delete(out, k)
	return out
}
