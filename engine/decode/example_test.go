package decode_test

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/runplan/runplan/engine/decode"
)

// A driver's target options: typed fields with tags, one Decode call, and a
// cross-field check placed with Fields.
func ExampleDecode() {
	type options struct {
		Addr     string        `yaml:"addr" decode:"required"`
		Timeout  time.Duration `yaml:"timeout" default:"5s" decode:"positive"`
		PoolSize int           `yaml:"pool_size" min:"1" max:"1000"`
		ReadOnly bool          `yaml:"read_only"`
		Keep     bool          `yaml:"keep"`
	}
	var doc yaml.Node
	_ = yaml.Unmarshal([]byte("addr: db:5432\npool_sise: 3\ntimeout: 0s\nread_only: true\nkeep: true\n"), &doc)

	var o options
	f, err := decode.Decode(&doc, &o, decode.Options{Prefix: "mydriver: ", Root: `target "db"`})
	if o.ReadOnly && f.Has("keep") {
		k := f.Key("keep")
		fmt.Printf("%d:%d: mydriver: keep does not apply to a read_only target\n", k.Line, k.Column)
	}
	fmt.Println(err)
	// Output:
	// 5:1: mydriver: keep does not apply to a read_only target
	// 2:1: mydriver: unknown key "pool_sise" (did you mean "pool_size"?)
	// 3:10: mydriver: timeout must be positive, got 0s
}
