package sink

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxGenericContent bounds the part of a generic body kept as a message's
// content.
const maxGenericContent = 4 << 10

// SignGitHub returns the X-Hub-Signature-256 value of body:
// "sha256=" and the lowercase hex HMAC-SHA256 of body under secret. It is a
// pure function.
func SignGitHub(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// StandardKey decodes a Standard Webhooks secret, "whsec_" followed by the
// base64 key (the prefix is optional). It is a pure function; its errors
// never quote the secret.
func StandardKey(secret string) ([]byte, error) {
	b64 := strings.TrimPrefix(secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if key, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, errors.New(`a Standard Webhooks secret is "whsec_" followed by base64`)
		}
	}
	if len(key) == 0 {
		return nil, errors.New("the Standard Webhooks secret is empty")
	}
	return key, nil
}

// SignStandard returns the webhook-signature value of a Standard Webhooks
// delivery: "v1," and the base64 HMAC-SHA256 of "{id}.{timestamp}.{body}".
// It is a pure function.
func SignStandard(key []byte, id, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// genericError answers a plain-text error word.
func genericError(w http.ResponseWriter, r *http.Request, status int, word string) {
	noteOf(r).word = word
	writeText(w, status, word)
}

// serveGeneric answers POST (PUT, PATCH) /hooks/{token} with 204, verifying
// the signature when the sink has a signing scheme.
func (s *Sink) serveGeneric(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	if ok, _, reset := s.global.take(now); !ok {
		limitedText(w, r, reset)
		return
	}
	tok, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
	if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.Token)) != 1 {
		genericError(w, r, http.StatusNotFound, "not_found")
		return
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		w.Header().Set("Allow", "POST, PUT, PATCH")
		genericError(w, r, http.StatusMethodNotAllowed, "method_not_allowed")
		return
	}
	if ok, _, reset := s.bucket.take(now); !ok {
		limitedText(w, r, reset)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			genericError(w, r, http.StatusRequestEntityTooLarge, "request_too_large")
			return
		}
		genericError(w, r, http.StatusBadRequest, "bad_request")
		return
	}
	if status, word := s.verify(r.Header, body, now); status != 0 {
		genericError(w, r, status, word)
		return
	}
	content := body
	if len(content) > maxGenericContent {
		content = content[:maxGenericContent]
	}
	s.accept(r, &Message{ID: s.nextID(now), Content: string(content), Received: now})
	w.WriteHeader(http.StatusNoContent)
}

// verify checks a delivery's signature; it returns 0 when it is good, else
// the status and error word to answer.
func (s *Sink) verify(h http.Header, body []byte, now time.Time) (int, string) {
	switch s.opts.Signing {
	case SigningGitHub:
		got := h.Get("X-Hub-Signature-256")
		if got == "" {
			return http.StatusUnauthorized, "missing_signature"
		}
		if !hmac.Equal([]byte(got), []byte(SignGitHub(s.opts.Secret, body))) {
			return http.StatusUnauthorized, "invalid_signature"
		}
	case SigningStandard:
		id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
		if id == "" || ts == "" || sigs == "" {
			return http.StatusBadRequest, "missing_headers"
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return http.StatusBadRequest, "invalid_timestamp"
		}
		if d := now.Sub(time.Unix(sec, 0)); d > s.opts.MaxSkew || d < -s.opts.MaxSkew {
			return http.StatusUnauthorized, "timestamp_out_of_tolerance"
		}
		key, _ := StandardKey(s.opts.Secret) // checked by New
		want := SignStandard(key, id, ts, body)
		for _, sig := range strings.Fields(sigs) {
			if hmac.Equal([]byte(sig), []byte(want)) {
				return 0, ""
			}
		}
		return http.StatusUnauthorized, "invalid_signature"
	}
	return 0, ""
}
