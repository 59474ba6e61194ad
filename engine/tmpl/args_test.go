package tmpl

import (
	"errors"
	"testing"
)

// TestCompileChecksLiteralArguments compiles templates whose generators get
// literal arguments out of range: each is refused at compile time (so at
// validation) with the offset of the argument, not at run time.
func TestCompileChecksLiteralArguments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src     string
		wantOff int // -1: compiles
		wantErr string
	}{
		{src: "k:{{ zipf(100, 1.1) }}", wantOff: -1},
		{src: "k:{{ zipf(100, 1.0) }}", wantOff: 15, wantErr: "zipf: s must be greater than 1 (Go's Zipf generator), e.g. 1.1 (got 1.0)"},
		{src: "k:{{ zipf(100, 1) }}", wantOff: 15, wantErr: "zipf: s must be greater than 1 (Go's Zipf generator), e.g. 1.1 (got 1)"},
		{src: "k:{{ zipf(100, 0.5 + 0.5) }}", wantOff: -1}, // not a literal: checked when it runs
		{src: "k:{{ zipf(0, 1.2) }}", wantOff: 10, wantErr: "zipf: n must be at least 1 (got 0)"},
		{src: "k:{{ uniform(0) }}", wantOff: 13, wantErr: "uniform: n must be at least 1 (got 0)"},
		{src: "k:{{ uniform(-5) }}", wantOff: 13, wantErr: "uniform: n must be at least 1 (got -5)"},
		{src: "{{ vu }}:{{ seq(0) }}", wantOff: 16, wantErr: "seq: n must be at least 1 (got 0)"},
		{src: "{{ slice(0) }}", wantOff: 9, wantErr: "slice: n must be at least 1 (got 0)"},
		{src: "{{ randstr(-1) }}", wantOff: 11, wantErr: "randstr: n must be from 0 to 16777216 (got -1)"},
		{src: `ключ:{{ "é" + string(zipf(10, 0.9)) }}`, wantOff: 35, wantErr: "zipf: s must be greater than 1 (Go's Zipf generator), e.g. 1.1 (got 0.9)"},
		{src: "{{ uniform(vu) }}", wantOff: -1}, // not a literal: checked when it runs
		{src: "{{ randstr(0) }}", wantOff: -1},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := NewCompiler().Compile(tt.src)
			if tt.wantOff < 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("err = %v, want a *tmpl.Error", err)
			}
			if te.Offset != tt.wantOff || te.Error() != tt.wantErr {
				t.Errorf("got %d %q\nwant %d %q", te.Offset, te.Error(), tt.wantOff, tt.wantErr)
			}
		})
	}
}
