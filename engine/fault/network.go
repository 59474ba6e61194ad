package fault

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// Network is a prepared network fault: one toxiproxy toxic (or the proxy
// switched off) applied to a target's proxies.
type Network struct {
	Kind     string
	name     string // toxic name, unique per fault
	toxics   []toxic
	down     bool
	describe string
}

type netConfig struct {
	Delay         string `yaml:"delay"`
	Jitter        string `yaml:"jitter"`
	Stream        string `yaml:"stream"`
	Rate          int64  `yaml:"rate"`
	After         string `yaml:"after"`
	AverageSize   int64  `yaml:"average_size"`
	SizeVariation int64  `yaml:"size_variation"`
	Bytes         int64  `yaml:"bytes"`
}

func ms(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return d.Milliseconds(), nil
}

// PrepareNetwork decodes a network fault of the given kind (no I/O). The
// schema has validated the shape; this turns it into toxics.
func PrepareNetwork(faultName, kind string, node *yaml.Node) (*Network, error) {
	var c netConfig
	if node != nil && node.Kind == yaml.MappingNode {
		if err := node.Decode(&c); err != nil {
			return nil, fmt.Errorf("fault %s: %w", faultName, err)
		}
	}
	n := &Network{Kind: kind, name: "runplan-" + faultName}
	streams := []string{"downstream"}
	switch c.Stream {
	case "upstream":
		streams = []string{"upstream"}
	case "both":
		streams = []string{"downstream", "upstream"}
	}
	add := func(typ string, attrs map[string]any) {
		for _, s := range streams {
			n.toxics = append(n.toxics, toxic{Name: n.name + "-" + s, Type: typ, Stream: s, Toxicity: 1, Attributes: attrs})
		}
	}
	switch kind {
	case "latency":
		d, err := ms(c.Delay)
		if err != nil {
			return nil, fmt.Errorf("fault %s: latency.delay: %w", faultName, err)
		}
		j, err := ms(c.Jitter)
		if err != nil {
			return nil, fmt.Errorf("fault %s: latency.jitter: %w", faultName, err)
		}
		add("latency", map[string]any{"latency": d, "jitter": j})
		n.describe = fmt.Sprintf("latency %dms ± %dms", d, j)
	case "bandwidth":
		add("bandwidth", map[string]any{"rate": c.Rate})
		n.describe = fmt.Sprintf("bandwidth %d KB/s", c.Rate)
	case "blackhole":
		// A timeout toxic with timeout 0 holds the data and never closes:
		// calls hang until their own timeout.
		add("timeout", map[string]any{"timeout": 0})
		n.describe = "blackhole"
	case "reset":
		after, err := ms(c.After)
		if err != nil {
			return nil, fmt.Errorf("fault %s: reset.after: %w", faultName, err)
		}
		add("reset_peer", map[string]any{"timeout": after})
		n.describe = "connection reset"
	case "slicer":
		d, err := time.ParseDuration(orZero(c.Delay))
		if err != nil {
			return nil, fmt.Errorf("fault %s: slicer.delay: %w", faultName, err)
		}
		add("slicer", map[string]any{"average_size": c.AverageSize, "size_variation": c.SizeVariation, "delay": d.Microseconds()})
		n.describe = fmt.Sprintf("slicer %d±%d bytes", c.AverageSize, c.SizeVariation)
	case "limit_data":
		add("limit_data", map[string]any{"bytes": c.Bytes})
		n.describe = fmt.Sprintf("connections closed after %d bytes", c.Bytes)
	case "down":
		n.down = true
		n.describe = "down"
	default:
		return nil, fmt.Errorf("fault %s: %q is not a network fault", faultName, kind)
	}
	return n, nil
}

func orZero(s string) string {
	if s == "" {
		return "0s"
	}
	return s
}

// String describes the fault.
func (n *Network) String() string { return n.describe }

// Start applies the fault to the target's proxies.
func (n *Network) Start(p *Proxies) error {
	if n.down {
		return p.SetDown(true)
	}
	for _, t := range n.toxics {
		if err := p.AddToxic(t.Name, t.Type, t.Stream, t.Toxicity, t.Attributes); err != nil {
			return err
		}
	}
	return nil
}

// Stop undoes the fault. It is safe after a partial Start.
func (n *Network) Stop(p *Proxies) error {
	if n.down {
		return p.SetDown(false)
	}
	var first error
	for _, t := range n.toxics {
		if err := p.RemoveToxic(t.Name); err != nil && first == nil {
			first = err
		}
	}
	return first
}
