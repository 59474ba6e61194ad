package webhook

import (
	"math/rand/v2"
	"net"
	"strings"
	"testing"

	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/engine/tmpl"
)

// Render shows the request a step would send — method, redacted URL,
// headers with their secrets masked, body — without a connection: the
// target's URL is a listener of the test, which must see none.
func TestRender(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The listener counts the connections it gets before the test's own
	// sentinel, which dials once every render is over (Cleanup runs after
	// the parallel subtests): an HTTP client writes its request at once, so
	// the first byte tells them apart.
	before := make(chan int, 1)
	go func() {
		n := 0
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b := make([]byte, 1)
			_, _ = c.Read(b)
			c.Close()
			if b[0] == 'S' {
				before <- n
				return
			}
			n++
		}
	}()
	t.Cleanup(func() {
		defer ln.Close()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte("S")); err != nil {
			t.Fatal(err)
		}
		if n := <-before; n != 0 {
			t.Errorf("render opened %d connection(s) to the target", n)
		}
	})
	const token = "tok3nABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdef"
	base := "http://" + ln.Addr().String()
	discord := base + "/api/webhooks/123/" + token + "?wait=true"
	tests := []struct {
		name, target, step string
		want               []string
		err                string
	}{
		{name: "discord json", target: "flavor: discord\nheaders: {Authorization: 'Bot s3cr3t-auth-value'}",
			step: `{json: {content: "signal {{ iteration + 1 }}", n: "{{ vu }}"}, query: {thread_id: "{{ vu * 10 }}"}, headers: {X-Trace: "t{{ vu }}"}}`,
			want: []string{
				"POST " + base + "/api/webhooks/123/****?wait=true&thread_id=10",
				"Authorization: ****",
				"Content-Type: application/json",
				"User-Agent: runplan",
				"X-Trace: t1",
				"X-Runplan-Message, X-Runplan-Sent: <trace headers, set at send>",
				"",
				`{"content":"signal 1","n":1}`,
			}},
		{name: "raw body, method, signing", target: "flavor: generic\nsigning: {scheme: github, secret: topsecretvalue}",
			step: `{method: put, body: "plain {{ vu }}", headers: {Content-Type: text/plain}}`,
			want: []string{
				"PUT " + base + "/api/webhooks/123/****?wait=true",
				"Content-Type: text/plain",
				"User-Agent: runplan",
				"X-Hub-Signature-256: <HMAC-SHA256 of the body, computed at send>",
				"X-Runplan-Message, X-Runplan-Sent: <trace headers, set at send>",
				"",
				"plain 1",
			}},
		{name: "template error", target: "flavor: discord", step: `{json: {content: "{{ uniform(vu - 1) }}"}}`,
			err: `webhook: template: json: "{{ uniform(vu - 1) }}": {{ uniform(vu - 1) }}: uniform(0): n must be positive`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := prepareOn(urlTarget(t, discord, tt.target), driver.StepSpec{Name: "deliver", Node: node(t, tt.step), Templates: tmpl.NewCompiler()})
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			ts := tmpl.NewState("s", 1, rng)
			ts.SetIteration(0)
			got, err := st.(driver.Renderer).Render(&driver.Iteration{VU: 1, Rand: rng, Templates: ts})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for _, secret := range []string{token, "s3cr3t-auth-value", "topsecretvalue"} {
				if strings.Contains(strings.Join(got, "\n"), secret) {
					t.Errorf("a secret shows: %s", secret)
				}
			}
		})
	}
}
