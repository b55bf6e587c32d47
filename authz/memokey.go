package authz

import (
	"encoding/binary"
	"encoding/json"
	"slices"

	"github.com/tollgate/tollgate/authz/policy"
)

// memoKey appends to b the key a memoized decision is remembered by: every part of
// the input the policies can read (policy.InputReads), each value prefixed with its
// length, so that two checks share a key only when the policy would see the same in
// all those parts. It reports false when a part cannot be encoded; the check is then
// evaluated without the memo.
//
// The parts, in order: whether input.route is present, with its api and resource (and
// path and params when read); whether input.token is present, with its issuer,
// client_id, subject and scopes in token order (the order is visible to a policy:
// concat), and the claims read; whether input.token_error is present, with its code,
// reason and description; the request method and host when read.
func memoKey(b []byte, reads policy.InputReads, r request, e *Evaluation) ([]byte, bool) {
	b = appendBool(b, e.Routed)
	if e.Routed {
		b = appendString(b, e.Match.API)
		b = appendString(b, e.Match.Resource)
		if reads.RoutePath {
			b = appendString(b, e.Match.Path)
		}
		if reads.RouteParams {
			b = appendParams(b, e.Match.Params)
		}
	}
	b = appendBool(b, e.Identity != nil)
	if id := e.Identity; id != nil {
		b = appendString(b, id.Issuer)
		b = appendString(b, id.ClientID)
		b = appendString(b, id.Subject)
		b = binary.AppendUvarint(b, uint64(len(id.Scopes)))
		for _, s := range id.Scopes {
			b = appendString(b, s)
		}
		var ok bool
		if b, ok = appendClaims(b, reads, id.Claims); !ok {
			return nil, false
		}
	}
	b = appendBool(b, e.TokenError != nil)
	if te := e.TokenError; te != nil {
		b = appendString(b, te.Code)
		b = appendString(b, te.Reason)
		b = appendString(b, te.Description)
	}
	if reads.Method {
		b = appendString(b, r.http.GetMethod())
	}
	if reads.Host {
		b = appendString(b, r.http.GetHost())
	}
	return b, true
}

// appendClaims appends the claims the policies read, as JSON: the token's claims come
// from JSON (numbers as json.Number), so equal encodings are equal values.
func appendClaims(b []byte, reads policy.InputReads, claims map[string]any) ([]byte, bool) {
	if reads.AllClaims {
		raw, err := json.Marshal(claims) // map keys sorted
		if err != nil {
			return nil, false
		}
		return appendBytes(b, raw), true
	}
	for _, name := range reads.Claims {
		v, present := claims[name]
		b = appendBool(b, present)
		if !present {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		b = appendBytes(b, raw)
	}
	return b, true
}

// appendParams appends the route params sorted by name.
func appendParams(b []byte, params map[string]string) []byte {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, k := range names {
		b = appendString(b, k)
		b = appendString(b, params[k])
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
