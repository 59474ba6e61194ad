package check

// testKinds stand for the registered drivers: plan loading is only told
// which step kinds exist, as engine.Check tells it from the registry.
var testKinds = []string{"redis", "webhook"}
