package webhook

import (
	"errors"
	"fmt"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/diag"
)

// TestParseExpectStatus decodes expect: {status: ...} as the driver sees it
// when no schema stood before it, and checks each answer, above all the
// hint for a status written in quotes.
func TestParseExpectStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		src     string
		want    []statusRange
		wantErr string
	}{
		{src: "{status: 204}", want: []statusRange{{204, 204}}},
		{src: "{status: [200, 2xx]}", want: []statusRange{{200, 200}, {200, 299}}},
		{src: `{status: "200"}`, wantErr: `2:10: webhook: expect status: "200" in quotes is a string, not a status code: write 200 without quotes`},
		{src: `{status: '404'}`, wantErr: `2:10: webhook: expect status: "404" in quotes is a string, not a status code: write 404 without quotes`},
		{src: `{status: "2000"}`, wantErr: `2:10: webhook: expect status: "2000" is not an HTTP status (100 to 599) nor a class such as 2xx`},
		{src: `{status: 42}`, wantErr: `2:10: webhook: expect status: "42" is not an HTTP status (100 to 599) nor a class such as 2xx`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte("\n"+tt.src), &doc); err != nil {
				t.Fatal(err)
			}
			var st step
			var errs []error
			st.parseExpect(doc.Content[0], &errs)
			if tt.wantErr == "" {
				if len(errs) > 0 {
					t.Fatalf("errors: %v", errs)
				}
				if len(st.expect) != len(tt.want) {
					t.Fatalf("expect %v, want %v", st.expect, tt.want)
				}
				for i := range tt.want {
					if st.expect[i] != tt.want[i] {
						t.Errorf("expect %v, want %v", st.expect, tt.want)
					}
				}
				return
			}
			if len(errs) != 1 {
				t.Fatalf("errors %v, want one", errs)
			}
			var pe *diag.Error
			if !errors.As(errs[0], &pe) {
				t.Fatalf("error %v has no position", errs[0])
			}
			if got := fmtPos(pe); got != tt.wantErr {
				t.Errorf("error\n%s\nwant\n%s", got, tt.wantErr)
			}
		})
	}
}

func fmtPos(pe *diag.Error) string {
	return fmt.Sprintf("%d:%d: %v", pe.Line, pe.Col, pe.Err)
}
