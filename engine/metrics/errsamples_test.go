package metrics

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestErrorSampler(t *testing.T) {
	t.Parallel()
	s := NewErrorSampler("p.yaml:3:5")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 96 {
				// 8 distinct messages, each 12 times per goroutine;
				// which comes first varies.
				s.Add("template", "m"+strconv.Itoa((i+g)%8), nil)
			}
		})
	}
	wg.Wait()
	got := s.Samples()
	if len(got) != MaxErrorSamples {
		t.Fatalf("%d samples, want %d: %+v", len(got), MaxErrorSamples, got)
	}
	for _, e := range got {
		if e.Count != 48 || e.At != "p.yaml:3:5" || e.Class != "template" {
			t.Errorf("sample %+v, want count 48 at p.yaml:3:5", e)
		}
	}
	if kept, _ := s.Add("template", got[0].Message, nil); kept {
		t.Error("Add of a known message reports it kept: it would be logged twice")
	}
	mask := func(m string) string { return strings.ReplaceAll(m, "pw123456", "****") }
	if kept, msg := NewErrorSampler("").Add("redis", "auth pw123456 "+strings.Repeat("x", 2*MaxErrorMessage), mask); !kept ||
		!strings.HasPrefix(msg, "auth **** x") || len(msg) > MaxErrorMessage {
		t.Errorf("first message: kept %v, %q; want it kept, masked, then cut", kept, msg)
	}
}

func TestTruncateMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		wantLen  int
		want     string
	}{
		{name: "short", in: "a\nb  c", want: "a b c"},
		{name: "long ascii", in: strings.Repeat("x", 1000), wantLen: MaxErrorMessage},
		{name: "long runes", in: strings.Repeat("é", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := TruncateMessage(tt.in)
			if tt.want != "" && got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if len(got) > MaxErrorMessage || !utf8.ValidString(got) {
				t.Errorf("got %d bytes (valid UTF-8: %v), want at most %d", len(got), utf8.ValidString(got), MaxErrorMessage)
			}
			if tt.wantLen > 0 && (len(got) != tt.wantLen || !strings.HasSuffix(got, "…")) {
				t.Errorf("got %d bytes ending %q, want %d ending with …", len(got), got[len(got)-4:], tt.wantLen)
			}
		})
	}
}

func TestErrorSamplerOneMessagePerConnectionFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"redis: GET: read tcp 127.0.0.1:39894->127.0.0.1:40751: i/o timeout", "redis: GET: read tcp 127.0.0.1:*->127.0.0.1:40751: i/o timeout"},
		{"dial tcp [::1]:5123->[::1]:80: refused", "dial tcp [::1]:*->[::1]:80: refused"},
		{"a->b and x:12->y", "a->b and x:*->y"},
		{"status 503", "status 503"},
		{"host:port->", "host:port->"},
	} {
		if got := anyLocalPort(tc.in); got != tc.want {
			t.Errorf("anyLocalPort(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	s := NewErrorSampler("p.yaml:1:1")
	for _, port := range []string{"39894", "39918", "39874"} {
		s.Add("timeout", "read tcp 127.0.0.1:"+port+"->127.0.0.1:6379: i/o timeout", nil)
	}
	got := s.Samples()
	if len(got) != 1 || got[0].Count != 3 {
		t.Fatalf("samples = %+v, want one message counted 3 times", got)
	}
}
