package webhook

import (
	"context"
	"fmt"
	"time"

	"github.com/runplan/runplan/engine/driver"
)

// Raw figures of ServerStats. The client_* figures are the driver's own and
// exist for every target; the others are the embedded sink's and exist only
// for embedded targets (an external service does not tell).
const (
	statClientRequests   = "client_requests"
	statClientRetries    = "client_retries"
	statClient429        = "client_429"
	statClientWaits      = "client_rate_limit_waits"
	statClientWaited     = "client_rate_limit_wait"
	statClientInvalid    = "client_invalid"
	statClientRetired    = "client_retired"
	statClientRefused    = "client_refused"
	statClientBudgetGone = "client_budget_spent"

	statReceived    = "received"
	statAccepted    = "accepted"
	statRejected    = "rejected"
	statRateLimited = "rate_limited"
	statFaulted     = "faulted"
	statDelivered   = "delivered"
	statDuplicates  = "duplicates"
	statOutOfOrder  = "out_of_order"
	statLatCount    = "receive_latency_count"
	statLatMean     = "receive_latency_mean"
	statLatP50      = "receive_latency_p50"
	statLatP90      = "receive_latency_p90"
	statLatP95      = "receive_latency_p95"
	statLatP99      = "receive_latency_p99"
	statLatMax      = "receive_latency_max"
)

// ServerStats returns the target's raw figures: the client's counters
// (client_requests, client_retries, client_429, client_rate_limit_waits,
// client_rate_limit_wait in seconds, client_invalid, client_refused,
// client_retired and client_budget_spent as 0 or 1) and, for an embedded
// target, the sink's (received, accepted, rejected, rate_limited, faulted,
// delivered, duplicates, out_of_order, and receive_latency_count, _mean,
// _p50, _p90, _p95, _p99, _max in seconds, over the whole run). Counters
// only grow. It sends nothing. Safe for concurrent use.
func (t *Target) ServerStats(ctx context.Context) (map[string]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("webhook: stats of %s: %w", t.Addr(), err)
	}
	flag := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	m := map[string]float64{
		statClientRequests:   float64(t.n.requests.Load()),
		statClientRetries:    float64(t.n.retries.Load()),
		statClient429:        float64(t.n.responses429.Load()),
		statClientWaits:      float64(t.n.waits.Load()),
		statClientWaited:     time.Duration(t.n.waitedNs.Load()).Seconds(),
		statClientInvalid:    float64(t.n.invalid.Load()),
		statClientRefused:    float64(t.n.retiredCalls.Load() + t.n.budgetRefused.Load()),
		statClientRetired:    flag(t.retired.Load()),
		statClientBudgetGone: flag(t.budget.spent.Load()),
	}
	if t.sink == nil {
		return m, nil
	}
	st := t.sink.Stats()
	m[statReceived] = float64(st.Received)
	m[statAccepted] = float64(st.Accepted)
	m[statRejected] = float64(st.Rejected)
	m[statRateLimited] = float64(st.RateLimited)
	m[statFaulted] = float64(st.Faulted)
	m[statDelivered] = float64(st.Delivered)
	m[statDuplicates] = float64(st.Duplicates)
	m[statOutOfOrder] = float64(st.OutOfOrder)
	m[statLatCount] = float64(st.Latency.Count)
	if st.Latency.Count > 0 {
		m[statLatMean] = st.Latency.Mean.Seconds()
		m[statLatP50] = st.Latency.P50.Seconds()
		m[statLatP90] = st.Latency.P90.Seconds()
		m[statLatP95] = st.Latency.P95.Seconds()
		m[statLatP99] = st.Latency.P99.Seconds()
		m[statLatMax] = st.Latency.Max.Seconds()
	}
	return m, nil
}

// delta is a counter's growth over the run.
func delta(name string) func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
	return func(first, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		a, ok1 := first[name]
		b, ok2 := last[name]
		if !ok1 || !ok2 {
			return 0, false
		}
		return b - a, true
	}
}

// final is a figure's value at the end of the run.
func final(name string) func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
	return func(_, last, _ map[string]float64, _ time.Duration) (float64, bool) {
		v, ok := last[name]
		return v, ok
	}
}

// ratio is the growth of num over the growth of den, unknown when den did
// not grow.
func ratio(num, den string) func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
	return func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
		n, ok1 := delta(num)(first, last, peak, elapsed)
		d, ok2 := delta(den)(first, last, peak, elapsed)
		if !ok1 || !ok2 || d <= 0 {
			return 0, false
		}
		return n / d, true
	}
}

// serverMetrics is the list ServerMetrics returns; docs/WEBHOOKS.md
// documents the same names.
var serverMetrics = []driver.ServerMetric{
	{Name: "requests", Help: "HTTP requests the driver sent (retries included)", Compute: delta(statClientRequests)},
	{Name: "retries", Help: "retries after 5xx answers and connection failures", Compute: delta(statClientRetries)},
	{Name: "responses_429", Help: "429 answers the driver received", Compute: delta(statClient429)},
	{Name: "rate_limit_waits", Help: "deliveries that waited on a rate limit before sending", Compute: delta(statClientWaits)},
	{Name: "rate_limit_wait", Help: "seconds spent waiting on rate limits, all deliveries together", Unit: "s", Compute: delta(statClientWaited)},
	{Name: "invalid_requests", Help: "401, 403 and 429 answers counted against the invalid-request budget", Compute: delta(statClientInvalid)},
	{Name: "refused", Help: "deliveries not sent: the webhook retired, or the budget spent", Compute: delta(statClientRefused)},
	{Name: "retired", Help: "1 when the webhook answered 404 or 410 and was retired, else 0", Compute: final(statClientRetired)},
	{Name: "budget_spent", Help: "1 when the invalid-request budget was spent, else 0", Compute: final(statClientBudgetGone)},
	{Name: "received", Help: "embedded sink: requests received", Compute: delta(statReceived)},
	{Name: "accepted", Help: "embedded sink: 2xx answers", Compute: delta(statAccepted)},
	{Name: "rejected", Help: "embedded sink: non-2xx answers (429s and faults included)", Compute: delta(statRejected)},
	{Name: "rate_limited", Help: "embedded sink: 429 answers", Compute: delta(statRateLimited)},
	{Name: "faulted", Help: "embedded sink: requests an injected fault answered", Compute: delta(statFaulted)},
	{Name: "delivered", Help: "embedded sink: distinct messages accepted", Compute: delta(statDelivered)},
	{Name: "duplicates", Help: "embedded sink: messages accepted again (a retry of a delivered message)", Compute: delta(statDuplicates)},
	{Name: "out_of_order", Help: "embedded sink: messages received after a later one of the same target", Compute: delta(statOutOfOrder)},
	{Name: "duplicate_ratio", Help: "embedded sink: duplicates / accepted", Compute: ratio(statDuplicates, statAccepted)},
	{Name: "receive_rate", Help: "embedded sink: requests received per second", Compute: func(first, last, peak map[string]float64, elapsed time.Duration) (float64, bool) {
		n, ok := delta(statReceived)(first, last, peak, elapsed)
		if !ok || elapsed <= 0 {
			return 0, false
		}
		return n / elapsed.Seconds(), true
	}},
	{Name: "receive_latency_mean", Help: "embedded sink: mean delivery latency at the receiver, seconds from the start of the delivery (waits and retries included)", Unit: "s", Compute: final(statLatMean)},
	{Name: "receive_latency_p50", Help: "embedded sink: median delivery latency at the receiver, seconds", Unit: "s", Compute: final(statLatP50)},
	{Name: "receive_latency_p90", Help: "embedded sink: 90th percentile delivery latency at the receiver, seconds", Unit: "s", Compute: final(statLatP90)},
	{Name: "receive_latency_p95", Help: "embedded sink: 95th percentile delivery latency at the receiver, seconds", Unit: "s", Compute: final(statLatP95)},
	{Name: "receive_latency_p99", Help: "embedded sink: 99th percentile delivery latency at the receiver, seconds", Unit: "s", Compute: final(statLatP99)},
	{Name: "receive_latency_max", Help: "embedded sink: longest delivery latency at the receiver, seconds", Unit: "s", Compute: final(statLatMax)},
}

// ServerMetrics lists the figures checks see as `<target>.server.<name>`,
// derived from ServerStats samples. Safe for concurrent use.
func (Driver) ServerMetrics() []driver.ServerMetric {
	return append([]driver.ServerMetric(nil), serverMetrics...)
}
