package redis

import (
	"context"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/runplan/runplan/engine/driver"
)

// The driver's entry points, called the way the engine calls them: a
// target is configured once, and its steps, faults and Open work from the
// Config.

// checkTarget validates target t (Configure, the Config dropped).
func checkTarget(t driver.TargetSpec) error {
	_, err := Driver{}.Configure(t)
	return err
}

// openSpec configures target t and opens it.
func openTargetSpec(ctx context.Context, t driver.TargetSpec, env driver.Env) (driver.Target, error) {
	c, err := Driver{}.Configure(t)
	if err != nil {
		return nil, err
	}
	return c.Open(ctx, env)
}

// prepareOn configures target t and prepares step s on it.
func prepareOn(t driver.TargetSpec, s driver.StepSpec) (driver.Step, error) {
	c, err := Driver{}.Configure(t)
	if err != nil {
		return nil, err
	}
	return c.Prepare(s)
}

// someoneElses is an unnamed target on a server runplan did not start,
// allowing nothing destructive.
var someoneElses = driver.TargetSpec{URL: "redis://127.0.0.1:1"}

// prepareStep prepares step s on someoneElses.
func prepareStep(s driver.StepSpec) (driver.Step, error) { return prepareOn(someoneElses, s) }

// One Config serves every Open, concurrently: Open works on a copy of the
// parsed options, so the Config stays as Configure left it, and the targets
// are independent.
func TestConfigOpensConcurrently(t *testing.T) {
	t.Parallel()
	srv := miniredis.RunT(t)
	tests := []struct {
		name, src string
	}{
		{"url", "url: redis://" + srv.Addr() + "/0\n"},
		{"url with options", "url: redis://" + srv.Addr() + "/0?max_retries=2\npool_size: 3\ntimeout: 2s\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := driver.TargetSpec{Name: "cache", Driver: "redis", URL: "redis://" + srv.Addr() + "/0", Node: node(t, tt.src), RunID: runID(t)}
			c, err := Driver{}.Configure(spec)
			if err != nil {
				t.Fatal(err)
			}
			cfg := c.(*Config).cfg
			before := *cfg.opts
			var wg sync.WaitGroup
			targets := make([]driver.Target, 4)
			errs := make([]error, len(targets))
			for i := range targets {
				wg.Go(func() { targets[i], errs[i] = c.Open(context.Background(), driver.Env{Log: func(string) {}}) })
			}
			wg.Wait()
			for i, tg := range targets {
				if errs[i] != nil {
					t.Fatalf("Open %d: %v", i, errs[i])
				}
				defer tg.Close()
				if err := tg.(*Target).Ping(context.Background()); err != nil {
					t.Errorf("Ping %d: %v", i, err)
				}
			}
			after := *cfg.opts
			if after.MaxRetries != before.MaxRetries || after.PoolSize != before.PoolSize || after.ReadTimeout != before.ReadTimeout ||
				after.DialerRetries != before.DialerRetries || (after.Dialer == nil) != (before.Dialer == nil) {
				t.Errorf("Open changed the Config's parsed options: before %+v, after %+v", before, after)
			}
		})
	}
}
