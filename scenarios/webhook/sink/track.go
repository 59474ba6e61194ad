package sink

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// trackedKeys bounds the memory of message keys kept to find duplicates: a
// duplicate arriving after this many newer messages is not recognised.
const trackedKeys = 1 << 16

// tracker finds duplicates and out-of-order deliveries and measures
// receiver-side latency, in bounded memory. It is safe for concurrent use.
type tracker struct {
	mu         sync.Mutex
	seen       map[string]struct{}
	ring       []string // FIFO of the keys in seen
	next       int
	highest    map[string]uint64 // stream → highest sequence received
	lat        *hdrhistogram.Histogram
	delivered  uint64
	duplicates uint64
	outOfOrder uint64
}

func (t *tracker) init() {
	t.seen = make(map[string]struct{}, 1024)
	t.ring = make([]string, 0, 1024)
	t.highest = map[string]uint64{}
	// 1 µs to 1 hour at 3 significant digits.
	t.lat = hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
}

// messageKey returns a delivery's key: the runplan header, else a Standard
// Webhooks id.
func messageKey(h http.Header) string {
	if k := h.Get(HeaderMessage); k != "" {
		return k
	}
	return h.Get("webhook-id")
}

// observe fills m.Key, m.Duplicate and m.Latency from the request headers
// and counts them.
func (t *tracker) observe(h http.Header, m *Message) {
	m.Key = messageKey(h)
	if sent, err := strconv.ParseInt(h.Get(HeaderSent), 10, 64); err == nil && sent > 0 {
		m.Latency = max(m.Received.Sub(time.Unix(0, sent)), 0)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if m.Key != "" {
		if _, dup := t.seen[m.Key]; dup {
			m.Duplicate = true
			t.duplicates++
			return
		}
		t.remember(m.Key)
		if stream, seq, ok := splitKey(m.Key); ok {
			if seq < t.highest[stream] {
				t.outOfOrder++
			} else {
				t.highest[stream] = seq
			}
		}
	}
	t.delivered++
	if h.Get(HeaderSent) != "" && m.Latency >= 0 {
		_ = t.lat.RecordValue(max(int64(m.Latency/time.Microsecond), 1))
	}
}

// remember adds key to the bounded set, forgetting the oldest.
func (t *tracker) remember(key string) {
	if len(t.ring) < trackedKeys {
		t.ring = append(t.ring, key)
	} else {
		delete(t.seen, t.ring[t.next])
		t.ring[t.next] = key
		t.next = (t.next + 1) % trackedKeys
	}
	t.seen[key] = struct{}{}
}

// splitKey reads "<stream>/<seq>".
func splitKey(k string) (string, uint64, bool) {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(k[i+1:], 10, 64)
	return k[:i], n, err == nil
}

func (t *tracker) stats(st *Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st.Delivered, st.Duplicates, st.OutOfOrder = t.delivered, t.duplicates, t.outOfOrder
	n := t.lat.TotalCount()
	if n == 0 {
		return
	}
	us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
	st.Latency = LatencyStats{
		Count: uint64(n),
		Mean:  time.Duration(t.lat.Mean() * float64(time.Microsecond)),
		P50:   us(t.lat.ValueAtQuantile(50)),
		P90:   us(t.lat.ValueAtQuantile(90)),
		P95:   us(t.lat.ValueAtQuantile(95)),
		P99:   us(t.lat.ValueAtQuantile(99)),
		Max:   us(t.lat.Max()),
	}
}
