package webhook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/runplan/runplan/engine/diag"
	"github.com/runplan/runplan/engine/driver"
	"github.com/runplan/runplan/scenarios/webhook/sink"
)

// FaultHTTP is the driver's fault kind: the embedded sink misbehaves for the
// fault's window (see sink.Fault). In a plan:
//
//	faults:
//	  - {name: discord_outage, target: discord, at: 12s, for: 2s, http: {status: 503}}
//	  - {name: slow_discord, target: discord, at: 5s, for: 3s, http: {delay: 800ms, ratio: 0.5}}
//
// Keys: status, delay, hang, reset, garbage, delivered, ratio. It needs the
// embedded sink: for an external webhook, use a network fault.
const FaultHTTP = "http"

var _ driver.Faulter = Driver{}

// FaultKinds lists the driver's own fault kinds. Safe for concurrent use.
func (Driver) FaultKinds() []string { return []string{FaultHTTP} }

// PrepareFault decodes an http fault on the target without I/O. It refuses
// external targets, whose service runplan cannot make misbehave. Safe for
// concurrent use.
func (c *Config) PrepareFault(f driver.FaultSpec) (driver.Fault, error) {
	if f.Kind != FaultHTTP {
		return nil, diag.Errorf(f.Node, "webhook: unknown fault kind %q (%s)", f.Kind, FaultHTTP)
	}
	if c.spec.URL != "" {
		return nil, diag.Errorf(f.Node, "webhook: fault %s: http faults act on the embedded sink, and target %s has a url; use a network fault (latency, reset, down) for an external webhook", f.Name, c.spec.Name)
	}
	var errs []error
	sf := parseFault(f.Node, &errs)
	if len(errs) == 0 && !sf.Hang && !sf.Reset && !sf.Garbage && sf.Status == 0 && sf.Delay == 0 {
		errs = append(errs, diag.Errorf(f.Node, "webhook: fault %s: say how the sink misbehaves: status, delay, hang, reset or garbage", f.Name))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &httpFault{f: *sf}, nil
}

// httpFault is a prepared http fault. It is immutable.
type httpFault struct{ f sink.Fault }

// Start puts the fault on the target's sink; undo restores what was there
// (the target's configured sink fault, or none).
func (h *httpFault) Start(_ context.Context, t driver.Target) (func(context.Context) error, error) {
	wt, ok := t.(*Target)
	if !ok || wt.Sink() == nil {
		return nil, fmt.Errorf("webhook: an http fault needs an embedded webhook target, not %T", t)
	}
	s := wt.Sink()
	prev, had := s.CurrentFault()
	s.SetFault(h.f)
	return func(context.Context) error {
		if had {
			s.SetFault(prev)
		} else {
			s.ClearFault()
		}
		return nil
	}, nil
}

// String describes the fault for reports.
func (h *httpFault) String() string {
	var parts []string
	f := h.f
	if f.Delay > 0 {
		parts = append(parts, "delay "+f.Delay.String())
	}
	switch {
	case f.Hang:
		parts = append(parts, "hang")
	case f.Reset:
		parts = append(parts, "reset")
	case f.Garbage:
		parts = append(parts, "garbage")
	case f.Status != 0:
		parts = append(parts, fmt.Sprintf("status %d", f.Status))
	}
	if f.Delivered {
		parts = append(parts, "after delivery")
	}
	if f.Ratio > 0 && f.Ratio < 1 {
		parts = append(parts, fmt.Sprintf("on %g%% of requests", f.Ratio*100))
	}
	return "http " + strings.Join(parts, ", ")
}
