// Package fault runs a plan's fault timeline: it switches faults on and off
// at their planned times, undoes every one of them at the end — also after an
// error or an interruption — and records when each was active. Network
// faults act through an embedded toxiproxy placed between runplan and the
// target; driver faults (a Redis CLIENT PAUSE, a webhook sink answering
// 503) are delegated to the target's driver.
package fault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxies is the fault proxy of one target: one toxiproxy proxy per
// upstream address the target's driver dials, created on demand, all
// carrying the same toxics. It is safe for concurrent use.
type Proxies struct {
	target string
	server *toxiproxy.ApiServer

	mu      sync.Mutex
	proxies map[string]*toxiproxy.Proxy // by upstream
	order   []string
	toxics  []toxic // active, in the order added
	down    bool
	closed  bool
}

type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// NewProxies returns the (empty) fault proxy of a target.
func NewProxies(target string) *Proxies {
	m := toxiproxy.NewMetricsContainer(prometheus.NewRegistry())
	return &Proxies{
		target:  target,
		server:  toxiproxy.NewServer(m, zerolog.Nop()),
		proxies: map[string]*toxiproxy.Proxy{},
	}
}

// ErrClosed is returned by Via after Close.
var ErrClosed = errors.New("fault: proxy closed")

// Via returns the loopback address of the proxy in front of upstream,
// starting it on first use with the toxics now active.
func (p *Proxies) Via(upstream string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return "", ErrClosed
	}
	if px, ok := p.proxies[upstream]; ok {
		return px.Listen, nil
	}
	name := fmt.Sprintf("%s-%d", p.target, len(p.proxies)+1)
	px := toxiproxy.NewProxy(p.server, name, "127.0.0.1:0", upstream)
	if err := px.Start(); err != nil {
		return "", fmt.Errorf("fault: start proxy for %s: %w", upstream, err)
	}
	for _, t := range p.toxics {
		if err := addToxic(px, t); err != nil {
			px.Stop()
			return "", err
		}
	}
	if p.down {
		px.Stop()
	}
	p.proxies[upstream] = px
	p.order = append(p.order, upstream)
	return px.Listen, nil
}

func addToxic(px *toxiproxy.Proxy, t toxic) error {
	b, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("fault: %w", err)
	}
	if _, err := px.Toxics.AddToxicJson(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("fault: add %s toxic: %w", t.Type, err)
	}
	return nil
}

// AddToxic adds a toxic to every proxy of the target, now and to come.
func (p *Proxies) AddToxic(name, typ, stream string, toxicity float32, attrs map[string]any) error {
	t := toxic{Name: name, Type: typ, Stream: stream, Toxicity: toxicity, Attributes: attrs}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, up := range p.order {
		if err := addToxic(p.proxies[up], t); err != nil {
			return err
		}
	}
	p.toxics = append(p.toxics, t)
	return nil
}

// RemoveToxic removes a toxic from every proxy; it tells every failure.
func (p *Proxies) RemoveToxic(name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, up := range p.order {
		if err := p.proxies[up].Toxics.RemoveToxic(context.Background(), name); err != nil && !errors.Is(err, toxiproxy.ErrToxicNotFound) {
			errs = append(errs, fmt.Errorf("fault: remove toxic %s from %s: %w", name, up, err))
		}
	}
	for i, t := range p.toxics {
		if t.Name == name {
			p.toxics = append(p.toxics[:i], p.toxics[i+1:]...)
			break
		}
	}
	return errors.Join(errs...)
}

// SetDown disables (true) or re-enables every proxy: a disabled proxy
// refuses connections and cuts those open, as if the target went away.
func (p *Proxies) SetDown(down bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	var errs []error
	for _, up := range p.order {
		px := p.proxies[up]
		if down {
			px.Stop()
			continue
		}
		if err := px.Start(); err != nil {
			errs = append(errs, fmt.Errorf("fault: restart proxy for %s: %w", up, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops every proxy.
func (p *Proxies) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, up := range p.order {
		p.proxies[up].Stop()
	}
}
