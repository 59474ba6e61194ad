package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runplan/runplan/cmd/runplan/internal/k8s"
	"github.com/runplan/runplan/engine"
	"github.com/runplan/runplan/engine/plan"
	"github.com/runplan/runplan/engine/redact"
	"github.com/runplan/runplan/engine/report"
)

// k8sCmd prints the manifests that run a plan as N segments on Kubernetes
// (see docs/K8S.md). It loads the plan as validate does, to find the files
// it reads and the variables it references; no secret value reaches the
// manifests: variables come from a Secret by reference, a secret-looking
// --set or --env-file value is refused, and the output is checked against
// every secret the loading learnt before it is written.
func k8sCmd(args []string, stdout, stderr io.Writer) int {
	return k8sAt(args, stdout, stderr, time.Now)
}

// k8sAt is k8sCmd with its clock (start-at = now + --start-lead).
func k8sAt(args []string, stdout, stderr io.Writer, now func() time.Time) int {
	fs := newFlagSet("k8s", "runplan k8s PLAN (--parallelism N | --schedule CRON) --image IMAGE [--namespace NS] [--start-lead 30s] [--secret NAME] [--out FILE]", stdout, stderr)
	parallelism := fs.Int("parallelism", 0, "number of segments, each a pod of an Indexed Job (required without --schedule)")
	schedule := fs.String("schedule", "", `run the plan on this schedule instead, one pod per run: a CronJob ("0 3 * * *", @daily; docs/DEPLOY.md)`)
	timeZone := fs.String("time-zone", k8s.DefaultTimeZone, "time zone of --schedule (IANA name)")
	image := fs.String("image", "", "runplan's image, built from the repository's Dockerfile and pushed where the cluster pulls from (required)")
	waitImage := fs.String("wait-image", k8s.DefaultWaitImage, "an image with a POSIX shell, for the merge Job's wait for the segment reports")
	namespace := fs.String("namespace", "", "namespace of the objects (default: kubectl's current one)")
	startLead := fs.Duration("start-lead", k8s.DefaultStartLead, "the segments start at now + this (--start-at): time for the pods to be scheduled and pull the image")
	mergeTimeout := fs.Duration("merge-timeout", k8s.DefaultMergeTimeout, "how long past the plan's planned end the merge waits for the segment reports")
	runID := fs.String("run-id", "", "run id shared by the segments (default: random); names the objects")
	secret := fs.String("secret", "", "Secret the plan's ${VAR} values come from, by reference (default: PLAN-NAME-env)")
	cpu := fs.String("cpu", k8s.DefaultCPU, "CPU of each segment pod (request = limit)")
	memory := fs.String("memory", k8s.DefaultMemory, "memory of each segment pod (request = limit)")
	storage := fs.String("storage", k8s.DefaultStorage, "size of the reports' ReadWriteMany claim")
	storageClass := fs.String("storage-class", "", "storage class of the reports' claim (default: the cluster's); it must offer ReadWriteMany")
	out := fs.String("out", "", "write the manifests to this file instead of stdout")
	var pf planFlags
	pf.register(fs, "override a plan value in every segment, path=value (repeatable); secret values are refused")
	pos, code, ok := parseArgs(fs, args, 1, "give exactly one plan file", stderr)
	if !ok {
		return code
	}
	if *schedule != "" {
		// A scheduled run is one pod: segments need a common --start-at,
		// which a CronJob's runs cannot be given.
		var bad []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "parallelism", "start-lead", "run-id", "merge-timeout", "wait-image":
				if f.Name != "parallelism" || *parallelism != 1 {
					bad = append(bad, "--"+f.Name)
				}
			}
		})
		if len(bad) > 0 {
			fmt.Fprintf(stderr, "runplan k8s: --schedule runs the plan as one pod per run (a CronJob): %s apply to a segmented run only\n", strings.Join(bad, ", "))
			return ExitUsage
		}
	} else if *parallelism < 1 {
		fmt.Fprintln(stderr, "runplan k8s: --parallelism N: give the number of segments (at least 1), or --schedule CRON for a scheduled run")
		return ExitUsage
	}
	red := secretsOf(stderr)
	planOpts, err := pf.options(red)
	if err != nil {
		fmt.Fprintln(stderr, "runplan k8s:", err)
		return ExitUsage
	}
	// --set values are written into the Job's arguments.
	var problems []string
	for _, s := range pf.sets {
		path, v, _ := strings.Cut(s, "=")
		if red.String(v) != v || redact.SecretName(path[strings.LastIndexByte(path, '.')+1:]) {
			problems = append(problems, fmt.Sprintf("--set %s=...: the value looks secret and would be written into the Job: put it in the Secret and reference it as ${VAR} in the plan", path))
		}
	}
	if len(problems) > 0 {
		fmt.Fprintln(stderr, "runplan k8s: "+strings.Join(problems, "\nrunplan k8s: "))
		return ExitUsage
	}
	// The loading looks up every ${VAR} the plan and its fragments
	// reference: those are the variables the pods need.
	var mu sync.Mutex
	var vars []string
	lookup := planOpts.Env
	if lookup == nil {
		lookup = os.LookupEnv
	}
	planOpts.Env = func(name string) (string, bool) {
		mu.Lock()
		vars = append(vars, name)
		mu.Unlock()
		return lookup(name)
	}
	p, diags := engine.Check(pos[0], planOpts, engine.Options{})
	if p == nil {
		fmt.Fprintln(stderr, diags.Error())
		return ExitUsage
	}
	in, err := k8s.Collect(p, vars)
	if err != nil {
		fmt.Fprintln(stderr, "runplan k8s:", err)
		return ExitUsage
	}

	// Plain values of the --env-file files go into the Job as values;
	// secret ones are left to the Secret.
	var env []k8s.EnvVar
	if len(pf.envFiles) > 0 {
		files, err := plan.EnvFiles(func(string) (string, bool) { return "", false }, pf.envFiles...)
		if err != nil {
			fmt.Fprintln(stderr, "runplan k8s: --env-file:", err)
			return ExitUsage
		}
		for _, name := range in.Vars {
			v, ok := files(name)
			if !ok {
				continue
			}
			if red.String(v) != v || redact.SecretName(name) {
				fmt.Fprintf(stderr, "runplan k8s: %s from --env-file looks secret: not written into the Job; the pods read it from the Secret\n", name)
				continue
			}
			env = append(env, k8s.EnvVar{Name: name, Value: v})
		}
	}
	if *schedule != "" {
		if *secret == "" {
			b, _ := k8s.Names(in.Name, "x")
			*secret = strings.TrimSuffix(b, "-x") + "-env"
		}
		return k8sSchedule(in, k8s.ScheduleOptions{
			Schedule: *schedule, TimeZone: *timeZone, Image: *image, Namespace: *namespace,
			Secret: *secret, Env: env, Sets: pf.sets,
			CPU: *cpu, Memory: *memory, Storage: *storage, StorageClass: *storageClass,
		}, *out, red, stdout, stderr)
	}
	if *runID == "" {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		*runID = hex.EncodeToString(b)
	}
	base, _ := k8s.Names(in.Name, *runID)
	if *secret == "" {
		*secret = strings.TrimSuffix(base, "-"+*runID) + "-env"
	}
	m, err := k8s.Build(in, k8s.Options{
		Parallelism: *parallelism, Image: *image, WaitImage: *waitImage, Namespace: *namespace,
		RunID: *runID, Now: now(), StartLead: *startLead, MergeTimeout: *mergeTimeout,
		Secret: *secret, Env: env, Sets: pf.sets,
		CPU: *cpu, Memory: *memory, Storage: *storage, StorageClass: *storageClass,
	})
	if err != nil {
		fmt.Fprintln(stderr, "runplan k8s:", err)
		return ExitUsage
	}
	header := fmt.Sprintf("runplan k8s %s: plan %s, run %s, %d segments starting at %s\n"+
		"objects: app.kubernetes.io/instance=%s; the segments read ${VAR}s from Secret %s (docs/K8S.md)\n",
		engine.Version, in.Name, *runID, *parallelism, m.StartAt.Format(time.RFC3339), base, *secret)
	return writeManifests(m, header, *out, fmt.Sprintf("run %s, %d segments starting at %s", *runID, *parallelism, m.StartAt.Format(time.RFC3339)), red, stdout, stderr)
}

// k8sSchedule prints the objects of a scheduled run (k8s --schedule).
func k8sSchedule(in k8s.Input, o k8s.ScheduleOptions, out string, red *redact.Redactor, stdout, stderr io.Writer) int {
	s, err := k8s.BuildSchedule(in, o)
	if err != nil {
		fmt.Fprintln(stderr, "runplan k8s:", err)
		return ExitUsage
	}
	cron := s.CronJob
	header := fmt.Sprintf("runplan k8s --schedule: plan %s, CronJob %s on %q (%s), one pod per run\n"+
		"reports: claim %s, one set per run named after its Job; the run reads ${VAR}s from Secret %s (docs/DEPLOY.md)\n",
		in.Name, cron.Name, cron.Spec.Schedule, *cron.Spec.TimeZone, s.Claim.Name, o.Secret)
	return writeManifests(s, header, out, fmt.Sprintf("CronJob %s on %q", cron.Name, cron.Spec.Schedule), red, stdout, stderr)
}

// writeManifests writes objs to out (stdout when empty) after the last
// guard: a secret the loading learnt (a credential written in the plan or
// a data file, a value --set gave) must not be printed.
func writeManifests(objs interface {
	Write(io.Writer, string) error
}, header, out, what string, red *redact.Redactor, stdout, stderr io.Writer) int {
	var buf bytes.Buffer
	if err := objs.Write(&buf, header); err != nil {
		fmt.Fprintln(stderr, "runplan k8s:", err)
		return ExitInternal
	}
	if masked := red.Bytes(buf.Bytes()); !bytes.Equal(masked, buf.Bytes()) {
		fmt.Fprintln(stderr, "runplan k8s: the manifests would hold a secret (a credential written in the plan, one of its files or a --set value): reference it as ${VAR} from the Secret instead")
		return ExitUsage
	}
	if out != "" {
		if err := report.WriteFileAtomic(out, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			fmt.Fprintln(stderr, "runplan k8s:", err)
			return ExitRuntime
		}
		fmt.Fprintf(stderr, "runplan k8s: %s written: %s\n", out, what)
		return ExitOK
	}
	_, _ = stdout.Write(buf.Bytes())
	return ExitOK
}
