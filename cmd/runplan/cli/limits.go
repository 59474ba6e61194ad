package cli

import (
	"fmt"

	"github.com/runplan/runplan/engine/plan"
)

// maxPlanSizeUsage documents --max-plan-size, shared by run and validate.
var maxPlanSizeUsage = fmt.Sprintf("the largest plan file to read, a `size` such as 4MiB (default %s); it also allows one YAML node per %d bytes, aliases expanded",
	plan.Size(plan.DefaultMaxSize), plan.BytesPerNode)
