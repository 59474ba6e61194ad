package redis

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/runplan/runplan/scenarios/redis/managed"
)

// The bounds and words in the option structs' tags are the constants the
// rest of the driver uses.
func TestOptionTags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ       reflect.Type
		field     string
		tag, want string
	}{
		{reflect.TypeFor[targetOptions](), "DB", "max", strconv.Itoa(maxDB)},
		{reflect.TypeFor[targetOptions](), "PoolSize", "max", strconv.Itoa(maxPoolSize)},
		{reflect.TypeFor[targetOptions](), "LocalServer", "oneof", strings.Join(localServers, " ")},
		{reflect.TypeFor[targetOptions](), "LocalServer", "default", localAuto},
		{reflect.TypeFor[retryOptions](), "Max", "max", strconv.Itoa(maxRetries)},
		{reflect.TypeFor[managedOptions](), "Topology", "oneof", strings.Join(managed.Topologies, " ")},
		{reflect.TypeFor[managedOptions](), "Replicas", "max", strconv.Itoa(managed.MaxReplicas)},
		{reflect.TypeFor[managedOptions](), "Primaries", "max", strconv.Itoa(managed.MaxPrimaries)},
		{reflect.TypeFor[managedOptions](), "Sentinels", "max", strconv.Itoa(managed.MaxSentinels)},
		{reflect.TypeFor[prefillOptions](), "Count", "max", strconv.Itoa(maxPrefillCount)},
		{reflect.TypeFor[prefillOptions](), "Batch", "max", strconv.Itoa(maxPrefillBatch)},
	}
	for _, tt := range tests {
		t.Run(tt.typ.Name()+"."+tt.field, func(t *testing.T) {
			t.Parallel()
			f, ok := tt.typ.FieldByName(tt.field)
			if !ok {
				t.Fatalf("no field %s", tt.field)
			}
			if got := f.Tag.Get(tt.tag); got != tt.want {
				t.Errorf("tag %s is %q, want %q", tt.tag, got, tt.want)
			}
		})
	}
}
