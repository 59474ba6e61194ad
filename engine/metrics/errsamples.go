package metrics

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Bounds of the error samples kept per step (docs/REPORTS.md).
const (
	// MaxErrorSamples is how many distinct messages a sampler keeps; later
	// distinct messages are counted in errors_by only.
	MaxErrorSamples = 5
	// MaxErrorMessage is the longest message kept, in bytes; longer ones
	// are cut at a rune boundary and end with "…".
	MaxErrorMessage = 300
)

// ErrorSample is one distinct error message of a step (or of whole
// iterations), with how often it occurred and where in the plan.
type ErrorSample struct {
	Class   string
	Message string
	Count   int64
	// At is the plan position of the step (or var) that failed,
	// "file:line:col"; "" when unknown.
	At string
	// raw is the message before masking, to count it again cheaply.
	raw string
}

// ErrorSampler keeps the first MaxErrorSamples distinct error messages of a
// step and counts each. It is called on the error path only, so a mutex is
// enough; it is safe for concurrent use. The zero value is not usable: use
// NewErrorSampler.
type ErrorSampler struct {
	at      string
	mu      sync.Mutex
	samples []ErrorSample
}

// NewErrorSampler returns a sampler for the step at plan position at.
func NewErrorSampler(at string) *ErrorSampler { return &ErrorSampler{at: at} }

// Add counts one error of class with message raw. It reports whether raw
// is a new distinct message that the sampler kept — the caller logs it
// then, once — and the message as kept: masked with mask (engine/redact;
// nil: none), then cut to MaxErrorMessage bytes on one line. Only a new
// message is masked: a known one costs a comparison under the lock.
func (s *ErrorSampler) Add(class, raw string, mask func(string) string) (kept bool, msg string) {
	raw = anyLocalPort(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.samples {
		if x := &s.samples[i]; x.raw == raw && x.Class == class {
			x.Count++
			return false, x.Message
		}
	}
	if len(s.samples) >= MaxErrorSamples {
		return false, ""
	}
	msg = raw
	if mask != nil {
		msg = mask(msg)
	}
	msg = TruncateMessage(msg) // after masking: a cut secret would escape the mask
	s.samples = append(s.samples, ErrorSample{Class: class, Message: msg, Count: 1, At: s.at, raw: raw})
	return true, msg
}

// At is the plan position the sampler was made for.
func (s *ErrorSampler) At() string { return s.at }

// Samples returns a copy of the samples kept, in the order first seen.
func (s *ErrorSampler) Samples() []ErrorSample {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return nil
	}
	out := append([]ErrorSample(nil), s.samples...)
	for i := range out {
		out[i].raw = ""
	}
	return out
}

// TruncateMessage puts msg on one line and bounds it to MaxErrorMessage
// bytes, cut at a rune boundary.
func TruncateMessage(msg string) string {
	if strings.ContainsAny(msg, "\r\n") {
		msg = strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)), " ")
	}
	if len(msg) <= MaxErrorMessage {
		return msg
	}
	cut := MaxErrorMessage - len("…")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// anyLocalPort writes the local port of a connection in a network error
// ("read tcp 127.0.0.1:39894->127.0.0.1:6379: i/o timeout") as "*": every
// connection has its own, and the same failure on eight connections is one
// message, not eight. It allocates only when msg names a connection.
func anyLocalPort(msg string) string {
	arrow := strings.Index(msg, "->")
	if arrow < 0 {
		return msg
	}
	var b strings.Builder
	for arrow >= 0 {
		local := msg[:arrow]
		colon := strings.LastIndexByte(local, ':')
		start := strings.LastIndexByte(local, ' ') + 1
		if colon < start || colon == len(local)-1 || strings.Trim(local[colon+1:], "0123456789") != "" {
			b.WriteString(msg[:arrow+2])
		} else {
			b.WriteString(local[:colon+1])
			b.WriteString("*->")
		}
		msg = msg[arrow+2:]
		arrow = strings.Index(msg, "->")
	}
	b.WriteString(msg)
	return b.String()
}
