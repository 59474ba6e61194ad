package engine

import (
	"errors"
	"slices"

	"github.com/runplan/runplan/engine/data"
	"github.com/runplan/runplan/engine/plan"
)

// classData is the error class of an iteration that could not draw its
// row from a data source: a unique source ran out (exhausted: error), or
// the file could not be read.
const classData = "data"

// readData is the union of the sources a scenario's vars and steps read,
// sorted.
func readData(vars, steps []string) []string {
	out := slices.Concat(vars, steps)
	slices.Sort(out)
	return slices.Compact(out)
}

// prepareData returns the specs of p's data sources that some scenario
// reads, in plan order: only those are opened for a run.
func prepareData(p *plan.Plan, scenarios []*preparedScenario) []data.Spec {
	var out []data.Spec
	for _, d := range p.Data {
		for _, s := range scenarios {
			if slices.Contains(s.data, d.Name) {
				out = append(out, d.Spec())
				break
			}
		}
	}
	return out
}

// openData opens the program's data sources for the run.
func (rs *runState) openData() error {
	rs.sources = map[string]*data.Source{}
	for _, spec := range rs.prog.data {
		src, err := data.Open(spec)
		if err != nil {
			return err
		}
		rs.sources[spec.Name] = src
	}
	return nil
}

// closeData closes the data sources once every iteration has returned.
func (rs *runState) closeData() {
	for _, src := range rs.sources {
		_ = src.Close()
	}
}

// drawData draws the iteration's row from each source the scenario reads,
// into the VU's cursors (bound to its templates as data.NAME). It returns
// the iteration's error class when a draw fails ("" when every row is
// drawn), and stop when a unique source ran out with exhausted: stop: the
// scenario is then aborted, and the iteration does not run.
func (sr *scenarioRun) drawData(st *vuState) (class string, stop bool) {
	for _, c := range st.cursors {
		err := c.Next(st.it.Rand)
		if err == nil {
			continue
		}
		if errors.Is(err, data.ErrExhausted) && c.Spec().Exhausted == data.Stop {
			sr.abort(err)
			return "", true
		}
		sr.prog.opts.Log.Debug().Str("scenario", sr.sc.name).Str("class", classData).Err(err).Msg("iteration data failed")
		return classData, false
	}
	return "", false
}
