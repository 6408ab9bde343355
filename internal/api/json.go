package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// decode reads the request's body, one JSON object with no unknown fields,
// into v. An empty body is taken as {} when emptyOK, for the endpoints
// whose fields are all optional.
func decode(r *http.Request, v any, emptyOK bool) error {
	if r.ContentLength == 0 && emptyOK && r.Header.Get("Content-Type") == "" {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &apiError{status: http.StatusUnsupportedMediaType, msg: "the body must be application/json"}
		}
	} else if r.ContentLength != 0 {
		return &apiError{status: http.StatusUnsupportedMediaType, msg: "Content-Type: application/json is needed"}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if errors.Is(err, io.EOF) && emptyOK {
		return nil
	}
	if err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return jsonError(err)
		}
		return badRequest("", "the body must be one JSON object, with nothing after it")
	}
	return nil
}

// jsonError turns a decoding error into a clear refusal, naming the field
// at fault when there is one.
func jsonError(err error) *apiError {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return &apiError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("the body is larger than %d bytes", MaxBody)}
	case errors.Is(err, io.EOF):
		return badRequest("", "the body is empty: a JSON object is needed")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "the JSON body ends too soon")
	case errors.As(err, &se):
		return badRequest("", "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return badRequest("", "the body must be a JSON object, not %s", te.Value)
		}
		return badRequest(te.Field, "field %q must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name := strings.Trim(f, `"`)
		return badRequest(name, "unknown field %s", f)
	}
	return badRequest("", "bad JSON: %v", err)
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "a number"
}

// text checks a string field: present when required, valid UTF-8, at most
// max bytes, without control characters.
func text(field, v string, required bool, max int) error {
	switch {
	case v == "" && required:
		return badRequest(field, "field %q is missing", field)
	case len(v) > max:
		return badRequest(field, "field %q is longer than %d bytes", field, max)
	case !utf8.ValidString(v):
		return badRequest(field, "field %q is not valid UTF-8", field)
	case strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return badRequest(field, "field %q has a control character", field)
	}
	return nil
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
