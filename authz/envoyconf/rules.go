package envoyconf

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"unicode"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// embeddedFailed is protoc-gen-validate's reason for a field whose own message broke a
// rule; the cause says which.
const embeddedFailed = "embedded message failed validation"

// pgvError is one rule broken, as protoc-gen-validate's generated code reports it.
type pgvError interface {
	Field() string
	Reason() string
	Cause() error
	Key() bool
}

// pgvMultiError is all the rules a message broke.
type pgvMultiError interface{ AllErrors() []error }

// checkRules applies the protoc-gen-validate rules of Envoy's API to msg and to every
// message packed in an Any beneath it (a message's own ValidateAll stops at an Any),
// refuses negative durations, as Envoy does for every field, and warns of deprecated
// fields.
func checkRules(msg proto.Message, path string, r *report) {
	if v, ok := msg.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			ruleFindings(err, msg.ProtoReflect().Descriptor(), path, r)
		}
	}
	walkFields(msg.ProtoReflect(), path, r)
}

// walkFields visits every set field of m in declaration order: it warns of deprecated
// ones, refuses negative durations and checks the rules of the messages packed in Anys.
func walkFields(m protoreflect.Message, path string, r *report) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			r.errorf(path, "cannot unpack %s: %v", a.GetTypeUrl(), err)
			return
		}
		checkRules(inner, path, r)
		return
	}
	if d, ok := m.Interface().(*durationpb.Duration); ok && (d.GetSeconds() < 0 || d.GetNanos() < 0) {
		r.errorf(path, "is negative (%s): Envoy refuses negative durations", d.AsDuration())
		return
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if !m.Has(fd) {
			continue
		}
		p := field(path, string(fd.Name()))
		if opts, _ := fd.Options().(*descriptorpb.FieldOptions); opts.GetDeprecated() {
			r.warnf(p, "deprecated in %s: Envoy warns about it, and a later version may refuse it", m.Descriptor().FullName())
		}
		walkValue(fd, m.Get(fd), p, r)
	}
}

func walkValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, path string, r *report) {
	switch {
	case fd.IsMap():
		if fd.MapValue().Message() == nil {
			return
		}
		entries := map[string]protoreflect.Message{}
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			entries[k.String()] = mv.Message()
			return true
		})
		for _, k := range slices.Sorted(maps.Keys(entries)) {
			walkFields(entries[k], key(path, k), r)
		}
	case fd.Message() == nil:
	case fd.IsList():
		for i := range v.List().Len() {
			walkFields(v.List().Get(i).Message(), index(path, i), r)
		}
	default:
		walkFields(v.Message(), path, r)
	}
}

// ruleFindings reports each rule broken in err, which protoc-gen-validate nests one
// message deep per level, at its path in the file.
func ruleFindings(err error, md protoreflect.MessageDescriptor, path string, r *report) {
	var multi pgvMultiError
	if errors.As(err, &multi) {
		for _, e := range multi.AllErrors() {
			ruleFindings(e, md, path, r)
		}
		return
	}
	var fe pgvError
	if !errors.As(err, &fe) {
		r.errorf(path, "%v", err)
		return
	}
	name, sub, _ := strings.Cut(fe.Field(), "[")
	fd := fieldByGoName(md, name)
	p := field(path, protoName(fd, name)) + subscript(fd, sub)
	if child := elemMessage(fd); child != nil && fe.Reason() == embeddedFailed && fe.Cause() != nil {
		ruleFindings(fe.Cause(), child, p, r)
		return
	}
	msg := fe.Reason()
	if fe.Key() {
		msg = "key " + msg
	}
	if fe.Cause() != nil {
		msg += ": " + fe.Cause().Error()
	}
	r.errorf(p, "%s", msg)
}

// fieldByGoName finds the field protoc-gen-go named name (http_filters is HttpFilters).
func fieldByGoName(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if strings.EqualFold(strings.ReplaceAll(string(fd.Name()), "_", ""), name) {
			return fd
		}
	}
	return nil
}

// protoName is the field's name in the file, or, for a rule on a oneof, its Go name in
// snake case.
func protoName(fd protoreflect.FieldDescriptor, goName string) string {
	if fd != nil {
		return string(fd.Name())
	}
	var b strings.Builder
	for i, c := range goName {
		if unicode.IsUpper(c) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// subscript renders protoc-gen-validate's "0]" or "name]" after a field as an index,
// or as a quoted key for a map.
func subscript(fd protoreflect.FieldDescriptor, sub string) string {
	if sub == "" {
		return ""
	}
	k := strings.TrimSuffix(sub, "]")
	if fd != nil && fd.IsMap() && fd.MapKey().Kind() == protoreflect.StringKind {
		return key("", k)
	}
	return "[" + k + "]"
}

// elemMessage is the message a field holds, in a list or as a map's value; nil for
// scalars.
func elemMessage(fd protoreflect.FieldDescriptor) protoreflect.MessageDescriptor {
	switch {
	case fd == nil:
		return nil
	case fd.IsMap():
		return fd.MapValue().Message()
	}
	return fd.Message()
}
