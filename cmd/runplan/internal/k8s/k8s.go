// Package k8s builds the Kubernetes manifests that run a plan as N
// execution segments (runplan k8s): a ConfigMap with the plan and every
// file it reads, a ReadWriteMany claim for the reports, an Indexed Job whose
// pod I runs segment I, and a merge Job that waits for the N segment reports
// and merges them.
//
// Build is a pure function of what the plan is (Input, see Collect) and of
// the options (clock and run id included): the same input gives the same
// manifests. Nothing here reads a secret's value: the plan's ${VAR}
// references become references to a Kubernetes Secret.
package k8s

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Paths inside the pods.
const (
	PlanDir    = "/plan"    // the ConfigMap, read-only
	ReportsDir = "/reports" // the claim: segment-I.json, report.json, junit.xml, report.md
	TmpDir     = "/tmp"     // an emptyDir: the root file system is read-only
)

// Default values of Options.
const (
	DefaultWaitImage    = "busybox:1.37"
	DefaultStartLead    = 30 * time.Second
	DefaultMergeTimeout = 15 * time.Minute
	DefaultCPU          = "1"
	DefaultMemory       = "512Mi"
	DefaultStorage      = "1Gi"
)

// MaxConfigMapBytes is the most a ConfigMap holds (etcd's object limit,
// 1 MiB), less room for its metadata.
const MaxConfigMapBytes = 1<<20 - 16<<10

// nonRootUID is the user of the image (distroless nonroot, see Dockerfile).
const nonRootUID = 65532

// File is one file the plan needs at run time.
type File struct {
	// Path is where the file is relative to the mount's root (slash
	// separated, no ".."); the plan's own file is one of them.
	Path string
	Data []byte
}

// Input is what Build needs of a plan; Collect gathers it from a loaded plan.
type Input struct {
	// Name is the plan's name (name:), the base of the objects' names.
	Name string
	// PlanPath is the plan file's Path among Files.
	PlanPath string
	// Files are the plan, its fragments and its data files.
	Files []File
	// Vars are the ${VAR} names the plan references, sorted.
	Vars []string
	// End is the plan's planned end (plan.MaxEnd), zero when unknown.
	End time.Duration
}

// EnvVar is a plain (non-secret) variable given to the segments as a value.
type EnvVar struct{ Name, Value string }

// Options say how to run the plan.
type Options struct {
	Parallelism int
	Image       string // runplan's image (required: no image is published for it)
	WaitImage   string // an image with a shell, for the merge's wait; DefaultWaitImage when empty
	Namespace   string // empty: kubectl's current namespace
	// RunID keys the run's objects and its keys on the targets; a DNS-1123
	// label of at most 20 characters.
	RunID string
	// Now is the generation time: the segments start at Now + StartLead.
	Now          time.Time
	StartLead    time.Duration // DefaultStartLead when zero
	MergeTimeout time.Duration // how long past the plan's end the merge waits; DefaultMergeTimeout when zero
	// Secret is the Secret the plan's variables come from (by reference,
	// optional keys).
	Secret string
	// Env are variables given by value (not secret: the caller checked).
	// They take the place of the Secret's key of the same name.
	Env []EnvVar
	// Sets are --set overrides passed to every segment (not secret: the
	// caller checked).
	Sets         []string
	CPU, Memory  string // per segment, requests = limits; defaults DefaultCPU, DefaultMemory
	Storage      string // the claim's size; DefaultStorage when empty
	StorageClass string // empty: the cluster's default class
}

// Manifests are the objects of one run, in the order they are applied.
type Manifests struct {
	ConfigMap *corev1.ConfigMap
	Claim     *corev1.PersistentVolumeClaim
	Segments  *batchv1.Job
	Merge     *batchv1.Job
	// StartAt is when every segment starts its clock.
	StartAt time.Time
}

var dnsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel turns s into a DNS-1123 label of at most max characters.
func dnsLabel(s string, max int) string {
	s = dnsUnsafe.ReplaceAllString(strings.ToLower(s), "-")
	s = strings.Trim(s, "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	return s
}

// Names are the objects' names: the plan's name and the run id.
func Names(plan, runID string) (base, merge string) {
	p := dnsLabel(plan, 50-len(runID)-1)
	if p == "" {
		p = "runplan"
	}
	base = p + "-" + runID
	return base, base + "-merge"
}

var keyUnsafe = regexp.MustCompile(`[^-._a-zA-Z0-9]+`)

// Build returns the manifests that run in as o.Parallelism segments. Its
// errors say which option or file is wrong.
func Build(in Input, o Options) (*Manifests, error) {
	var errs []error
	if o.Parallelism < 1 {
		errs = append(errs, fmt.Errorf("--parallelism %d: want at least 1", o.Parallelism))
	}
	if msgs := validation.IsDNS1123Label(o.RunID); len(msgs) > 0 || len(o.RunID) > 20 {
		errs = append(errs, fmt.Errorf("--run-id %q: want at most 20 lower-case letters, digits and '-', starting and ending with a letter or digit", o.RunID))
	}
	if o.StartLead < 0 {
		errs = append(errs, fmt.Errorf("--start-lead %s: want a positive duration", o.StartLead))
	}
	c, err := checkCommon(in, o.Image, o.Namespace, o.Secret, o.StorageClass, o.CPU, o.Memory, o.Storage)
	if err != nil {
		errs = append(errs, err)
	}
	cpu, mem, storage := c.cpu, c.mem, c.storage
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	image := o.Image
	waitImage := cmp.Or(o.WaitImage, DefaultWaitImage)
	lead := o.StartLead
	if lead == 0 {
		lead = DefaultStartLead
	}
	mergeTimeout := o.MergeTimeout
	if mergeTimeout <= 0 {
		mergeTimeout = DefaultMergeTimeout
	}
	startAt := o.Now.UTC().Add(lead).Truncate(time.Second)
	n := int32(o.Parallelism)
	base, mergeName := Names(in.Name, o.RunID)

	labels := func(component string) map[string]string { return objectLabels(base, in.Name, o.RunID, component) }
	meta := func(name, component string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels(component)}
	}
	cm, items := planConfigMap(in, meta(base, "plan"))

	// Every segment pod writes its report, from any node.
	claim := reportsClaim(meta(base+"-reports", "reports"), corev1.ReadWriteMany, storage, o.StorageClass)
	volumes, mounts := runVolumes(cm.Name, items, claim.Name)
	// The journal of changes to targets (runplan cleanup) lives under
	// XDG_STATE_HOME: on the emptyDir, the root file system being read-only.
	baseEnv := []corev1.EnvVar{{Name: "XDG_STATE_HOME", Value: TmpDir + "/state"}}

	planEnv := planVariables(in.Vars, o.Env, o.Secret)

	podSecurity := podSecurityContext()

	planFile := PlanDir + "/" + in.PlanPath
	args := []string{"run", planFile,
		"--segments", strconv.Itoa(o.Parallelism),
		"--run-id", o.RunID,
		"--start-at", startAt.Format(time.RFC3339),
		"--out", ReportsDir + "/segment-$(JOB_COMPLETION_INDEX).json",
		"--no-progress", "--log-format", "json"}
	for _, s := range o.Sets {
		args = append(args, "--set", s)
	}
	// The Job controller sets JOB_COMPLETION_INDEX too; declaring it makes
	// the $(JOB_COMPLETION_INDEX) of the arguments expand whatever the
	// cluster's version.
	segEnv := append([]corev1.EnvVar{{Name: "JOB_COMPLETION_INDEX", ValueFrom: &corev1.EnvVarSource{
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"}}}},
		baseEnv...)
	segEnv = append(segEnv, planEnv...)

	segments := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(base, "segment"),
		Spec: batchv1.JobSpec{
			CompletionMode: new(batchv1.IndexedCompletion),
			Completions:    new(n),
			Parallelism:    new(n),
			// A segment is never run again: a second try starts after
			// --start-at and its load lands outside the plan's schedule
			// (and a segment whose checks fail exits 1, which is a result,
			// not a crash). The other segments go on when one fails.
			BackoffLimitPerIndex: new(int32(0)),
			MaxFailedIndexes:     new(n),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("segment")},
				Spec: corev1.PodSpec{
					RestartPolicy:   corev1.RestartPolicyNever,
					SecurityContext: podSecurity,
					Containers: []corev1.Container{{
						Name:            "segment",
						Image:           image,
						Command:         []string{"runplan"},
						Args:            args,
						Env:             segEnv,
						VolumeMounts:    mounts,
						Resources:       requestsAreLimits(cpu, mem),
						SecurityContext: containerSecurityContext(),
					}},
					Volumes: volumes,
				},
			},
		},
	}

	reports := make([]string, o.Parallelism)
	indexes := make([]string, o.Parallelism)
	for i := range reports {
		reports[i] = fmt.Sprintf("%s/segment-%d.json", ReportsDir, i)
		indexes[i] = strconv.Itoa(i)
	}
	deadline := startAt.Add(in.End).Add(mergeTimeout)
	// The merge evaluates the plan's checks on the merged figures: it
	// loads the plan as the segments did (the same files, --set values
	// and variables).
	mergeArgs := append(append([]string{"merge"}, reports...),
		"--plan", planFile,
		"--out", ReportsDir+"/report.json",
		"--junit", ReportsDir+"/junit.xml",
		"--markdown", ReportsDir+"/report.md")
	for _, s := range o.Sets {
		mergeArgs = append(mergeArgs, "--set", s)
	}
	mergeEnv := append(slices.Clone(baseEnv), planEnv...)
	mergeJob := &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta(mergeName, "merge"),
		Spec: batchv1.JobSpec{
			Completions:  new(int32(1)),
			Parallelism:  new(int32(1)),
			BackoffLimit: new(int32(2)),
			// A merge that ran gave its verdict: checks that fail (1) or an
			// invalid measurement (4) are not retried.
			PodFailurePolicy: &batchv1.PodFailurePolicy{Rules: []batchv1.PodFailurePolicyRule{{
				Action: batchv1.PodFailurePolicyActionFailJob,
				OnExitCodes: &batchv1.PodFailurePolicyOnExitCodesRequirement{
					ContainerName: new("merge"), Operator: batchv1.PodFailurePolicyOnExitCodesOpIn, Values: []int32{1, 4}},
			}}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels("merge")},
				Spec: corev1.PodSpec{
					RestartPolicy:   corev1.RestartPolicyNever,
					SecurityContext: podSecurity,
					InitContainers: []corev1.Container{{
						Name:            "wait",
						Image:           waitImage,
						Command:         []string{"sh", "-c", waitScript(indexes, deadline)},
						VolumeMounts:    []corev1.VolumeMount{{Name: "reports", MountPath: ReportsDir, ReadOnly: true}},
						Resources:       requestsAreLimits(resource.MustParse("10m"), resource.MustParse("16Mi")),
						SecurityContext: containerSecurityContext(),
					}},
					Containers: []corev1.Container{{
						Name:            "merge",
						Image:           image,
						Command:         []string{"runplan"},
						Args:            mergeArgs,
						Env:             mergeEnv,
						VolumeMounts:    mounts,
						Resources:       requestsAreLimits(resource.MustParse("500m"), resource.MustParse("512Mi")),
						SecurityContext: containerSecurityContext(),
					}},
					Volumes: volumes,
				},
			},
		},
	}
	return &Manifests{ConfigMap: cm, Claim: claim, Segments: segments, Merge: mergeJob, StartAt: startAt}, nil
}

// checkFiles checks that the files are below the plan's directory, hold
// the plan and fit in a ConfigMap.
func checkFiles(in Input) error {
	var errs []error
	total := 0
	for _, f := range in.Files {
		total += len(f.Data)
		if f.Path == "" || path.IsAbs(f.Path) || slices.Contains(strings.Split(f.Path, "/"), "..") {
			errs = append(errs, fmt.Errorf("k8s: file %q: want a path below the plan's directory", f.Path))
		}
	}
	if total > MaxConfigMapBytes {
		errs = append(errs, fmt.Errorf("k8s: the plan and its files are %d bytes; a ConfigMap holds at most %d: build them into the image instead", total, MaxConfigMapBytes))
	}
	if !slices.ContainsFunc(in.Files, func(f File) bool { return f.Path == in.PlanPath }) {
		errs = append(errs, fmt.Errorf("k8s: the plan file %q is not among the files", in.PlanPath))
	}
	return errors.Join(errs...)
}

// waitScript is the merge's wait: until every segment's report is there,
// or fails at deadline naming the segments that wrote none. It uses no
// $(...) (Kubernetes expands those in commands) and no $$.
func waitScript(indexes []string, deadline time.Time) string {
	return fmt.Sprintf(`deadline=%d
while :; do
  missing=""
  for i in %s; do [ -f %s/segment-$i.json ] || missing="$missing $i"; done
  if [ -z "$missing" ]; then echo "runplan: all %d segment reports are in"; exit 0; fi
  if [ "`+"`date +%%s`"+`" -ge "$deadline" ]; then echo "runplan: no report from segment(s)$missing by %s: see kubectl logs of the segment Job" >&2; exit 1; fi
  sleep 5
done
`, deadline.Unix(), strings.Join(indexes, " "), ReportsDir, len(indexes), deadline.Format(time.RFC3339))
}

// Write writes m as a multi-document YAML stream, in apply order.
func (m *Manifests) Write(w io.Writer, header string) error {
	return writeObjects(w, header, m.ConfigMap, m.Claim, m.Segments, m.Merge)
}

// objectLabels are the labels of every object of a run (base: the objects'
// base name, PLAN-RUNID; runID empty for a schedule's objects).
func objectLabels(base, plan, runID, component string) map[string]string {
	l := map[string]string{
		"app.kubernetes.io/name":       "runplan",
		"app.kubernetes.io/instance":   base,
		"app.kubernetes.io/component":  component,
		"app.kubernetes.io/managed-by": "runplan",
		"runplan.dev/plan":             dnsLabel(plan, 63),
	}
	if runID != "" {
		l["runplan.dev/run-id"] = runID
	}
	return l
}

// planConfigMap holds the plan's files. Keys cannot hold '/', so each file
// has a key of its own and an item that mounts it back at its path.
func planConfigMap(in Input, meta metav1.ObjectMeta) (*corev1.ConfigMap, []corev1.KeyToPath) {
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta,
		Data:       map[string]string{},
	}
	var items []corev1.KeyToPath
	used := map[string]bool{}
	for _, f := range in.Files {
		key := strings.Trim(keyUnsafe.ReplaceAllString(strings.ReplaceAll(f.Path, "/", "__"), "_"), ".")
		if key == "" {
			key = "file"
		}
		for k, i := key, 2; ; i++ {
			if !used[k] {
				key = k
				break
			}
			k = key + "-" + strconv.Itoa(i)
		}
		used[key] = true
		if utf8.Valid(f.Data) {
			cm.Data[key] = string(f.Data)
		} else {
			if cm.BinaryData == nil {
				cm.BinaryData = map[string][]byte{}
			}
			cm.BinaryData[key] = f.Data
		}
		items = append(items, corev1.KeyToPath{Key: key, Path: f.Path})
	}
	return cm, items
}

// planVariables are the plan's variables: by value when the caller gave a
// plain one, otherwise from the Secret, optional so that ${VAR:-default}
// applies when the Secret lacks the key.
func planVariables(vars []string, env []EnvVar, secret string) []corev1.EnvVar {
	plain := map[string]string{}
	for _, e := range env {
		plain[e.Name] = e.Value
	}
	var planEnv []corev1.EnvVar
	for _, v := range vars {
		if val, ok := plain[v]; ok {
			planEnv = append(planEnv, corev1.EnvVar{Name: v, Value: val})
			continue
		}
		if secret == "" {
			continue
		}
		planEnv = append(planEnv, corev1.EnvVar{Name: v, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: v, Optional: new(true)}}})
	}
	return planEnv
}

// podSecurityContext runs the pod as the image's non-root user, with the
// runtime's default seccomp profile.
func podSecurityContext() *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:   new(true),
		RunAsUser:      new(int64(nonRootUID)),
		RunAsGroup:     new(int64(nonRootUID)),
		FSGroup:        new(int64(nonRootUID)),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

// containerSecurityContext: no privilege escalation, a read-only root file
// system, no capability.
func containerSecurityContext() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: new(false),
		ReadOnlyRootFilesystem:   new(true),
		RunAsNonRoot:             new(true),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

// requestsAreLimits: a generator whose CPU is throttled or taken by a
// neighbour measures itself, not the target.
func requestsAreLimits(cpu, mem resource.Quantity) corev1.ResourceRequirements {
	l := corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem}
	return corev1.ResourceRequirements{Requests: l, Limits: l.DeepCopy()}
}

// reportsClaim is the claim the runs write their reports to.
func reportsClaim(meta metav1.ObjectMeta, mode corev1.PersistentVolumeAccessMode, size resource.Quantity, class string) *corev1.PersistentVolumeClaim {
	claim := &corev1.PersistentVolumeClaim{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: meta,
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{mode},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
		},
	}
	if class != "" {
		claim.Spec.StorageClassName = &class
	}
	return claim
}

// runVolumes are the volumes of a pod that runs the plan, and its mounts:
// the plan's ConfigMap at PlanDir (read-only), the reports' claim at
// ReportsDir, an emptyDir at TmpDir (the root file system is read-only).
func runVolumes(configMap string, items []corev1.KeyToPath, claim string) ([]corev1.Volume, []corev1.VolumeMount) {
	return []corev1.Volume{
			{Name: "plan", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: configMap}, Items: items}}},
			{Name: "reports", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}},
			{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		}, []corev1.VolumeMount{
			{Name: "plan", MountPath: PlanDir, ReadOnly: true},
			{Name: "reports", MountPath: ReportsDir},
			{Name: "tmp", MountPath: TmpDir},
		}
}
