package k8s

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// Defaults of a schedule (BuildSchedule).
const (
	DefaultTimeZone = "Etc/UTC"
	// DefaultStartingDeadline: a run the controller missed (it was down,
	// the cluster was full) still starts within this; later, that day's run
	// is skipped.
	DefaultStartingDeadline = time.Hour
	// DefaultRunTimeout is how long past the plan's planned end a run may
	// last before Kubernetes stops it (activeDeadlineSeconds).
	DefaultRunTimeout = 15 * time.Minute
	// scheduleHistory is how many finished Jobs (and their pods' logs) of
	// each kind, succeeded and failed, the CronJob keeps.
	scheduleHistory = 7
	// maxCronJobName: the CronJob controller appends "-" and 8-11 digits to
	// name each Job, which must stay a 63-character label.
	maxCronJobName = 52
)

// ScheduleOptions say how to run a plan on a schedule: one pod per run.
type ScheduleOptions struct {
	// Schedule is the CronJob's schedule: five cron fields ("0 3 * * *")
	// or a macro (@daily, @hourly, @weekly, @monthly, @yearly).
	Schedule string
	// TimeZone of Schedule, an IANA name; DefaultTimeZone when empty.
	TimeZone  string
	Image     string // runplan's image (required: no image is published for it)
	Namespace string
	// Secret, Env and Sets as in Options.
	Secret       string
	Env          []EnvVar
	Sets         []string
	CPU, Memory  string // the run's pod, requests = limits
	Storage      string // the reports' claim (ReadWriteOnce)
	StorageClass string
}

// Scheduled are the objects of a scheduled run, in apply order: the plan's
// ConfigMap, a claim that keeps every run's reports, and the CronJob.
type Scheduled struct {
	ConfigMap *corev1.ConfigMap
	Claim     *corev1.PersistentVolumeClaim
	CronJob   *batchv1.CronJob
}

var (
	cronField = `[0-9A-Za-z*?/,#LW-]+`
	cronSpec  = regexp.MustCompile(`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|` + cronField + `(\s+` + cronField + `){4})$`)
)

// BuildSchedule returns the objects that run in on o.Schedule. Each run
// is one pod, `runplan run` with every report written to the claim under
// the Job's name (NAME-TIME.json, .junit.xml, .md, .html). Its errors say
// which option or file is wrong.
func BuildSchedule(in Input, o ScheduleOptions) (*Scheduled, error) {
	var errs []error
	if s := strings.TrimSpace(o.Schedule); !cronSpec.MatchString(s) || strings.Contains(s, "TZ") {
		errs = append(errs, fmt.Errorf("--schedule %q: want five cron fields (minute hour day-of-month month day-of-week, e.g. \"0 3 * * *\") or @daily, @hourly, @weekly; the time zone goes in --time-zone", o.Schedule))
	}
	tz := cmp.Or(o.TimeZone, DefaultTimeZone)
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		errs = append(errs, fmt.Errorf("--time-zone %q: want an IANA time zone such as Etc/UTC or Europe/Berlin", tz))
	}
	common, err := checkCommon(in, o.Image, o.Namespace, o.Secret, o.StorageClass, o.CPU, o.Memory, o.Storage)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	name := dnsLabel(in.Name, maxCronJobName)
	if name == "" {
		name = "runplan"
	}
	labels := func(component string) map[string]string { return objectLabels(name, in.Name, "", component) }
	meta := func(n, component string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: n, Namespace: o.Namespace, Labels: labels(component)}
	}
	cm, items := planConfigMap(in, meta(name, "plan"))
	// One run at a time (concurrencyPolicy: Forbid) writes to it.
	claim := reportsClaim(meta(name+"-reports", "reports"), corev1.ReadWriteOnce, common.storage, o.StorageClass)
	volumes, mounts := runVolumes(cm.Name, items, claim.Name)

	planFile := PlanDir + "/" + in.PlanPath
	out := ReportsDir + "/$(JOB_NAME)"
	args := []string{"run", planFile,
		"--out", out + ".json",
		"--junit", out + ".junit.xml",
		"--markdown", out + ".md",
		"--html", out + ".html",
		"--no-progress", "--log-format", "json"}
	for _, s := range o.Sets {
		args = append(args, "--set", s)
	}
	// JOB_NAME (NAME-<minutes since the epoch>, set by the CronJob
	// controller) names each run's reports: declared so that $(JOB_NAME)
	// in the arguments expands.
	env := []corev1.EnvVar{
		{Name: "JOB_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{
			FieldPath: "metadata.labels['batch.kubernetes.io/job-name']"}}},
		{Name: "XDG_STATE_HOME", Value: TmpDir + "/state"},
	}
	env = append(env, planVariables(in.Vars, o.Env, o.Secret)...)

	job := batchv1.JobSpec{
		// A run that gave its verdict (exit 1 or 4) is a result, and a
		// second try would not be the day's scheduled run: none is retried.
		BackoffLimit: new(int32(0)),
		Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels("run")},
			Spec: corev1.PodSpec{
				RestartPolicy:   corev1.RestartPolicyNever,
				SecurityContext: podSecurityContext(),
				Containers: []corev1.Container{{
					Name:            "run",
					Image:           o.Image,
					Command:         []string{"runplan"},
					Args:            args,
					Env:             env,
					VolumeMounts:    mounts,
					Resources:       requestsAreLimits(common.cpu, common.mem),
					SecurityContext: containerSecurityContext(),
				}},
				Volumes: volumes,
			},
		},
	}
	if in.End > 0 {
		job.ActiveDeadlineSeconds = new(int64((in.End + DefaultRunTimeout).Seconds()))
	}
	cron := &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: meta(name, "schedule"),
		Spec: batchv1.CronJobSpec{
			Schedule:                   strings.Join(strings.Fields(o.Schedule), " "),
			TimeZone:                   &tz,
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    new(int64(DefaultStartingDeadline.Seconds())),
			SuccessfulJobsHistoryLimit: new(int32(scheduleHistory)),
			FailedJobsHistoryLimit:     new(int32(scheduleHistory)),
			JobTemplate:                batchv1.JobTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels("run")}, Spec: job},
		},
	}
	return &Scheduled{ConfigMap: cm, Claim: claim, CronJob: cron}, nil
}

// Write writes s as a multi-document YAML stream, in apply order.
func (s *Scheduled) Write(w io.Writer, header string) error {
	return writeObjects(w, header, s.ConfigMap, s.Claim, s.CronJob)
}

// common are the checked options both builders share.
type common struct{ cpu, mem, storage resource.Quantity }

// checkCommon checks the options and files both builders share.
func checkCommon(in Input, image, namespace, secret, storageClass, cpu, mem, storage string) (common, error) {
	var errs []error
	if image == "" {
		errs = append(errs, errors.New("k8s: no --image: build runplan's image from the repository's Dockerfile (docker build -t REGISTRY/runplan:TAG .), push it where the cluster pulls from, and pass --image REGISTRY/runplan:TAG"))
	}
	if namespace != "" {
		if msgs := validation.IsDNS1123Label(namespace); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--namespace %q: %s", namespace, strings.Join(msgs, "; ")))
		}
	}
	if secret != "" {
		if msgs := validation.IsDNS1123Subdomain(secret); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--secret %q: %s", secret, strings.Join(msgs, "; ")))
		}
	}
	quantity := func(flag, s, def string) resource.Quantity {
		if s == "" {
			s = def
		}
		q, err := resource.ParseQuantity(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", flag, s, err))
		}
		return q
	}
	c := common{
		cpu:     quantity("--cpu", cpu, DefaultCPU),
		mem:     quantity("--memory", mem, DefaultMemory),
		storage: quantity("--storage", storage, DefaultStorage),
	}
	if storageClass != "" {
		if msgs := validation.IsDNS1123Subdomain(storageClass); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("--storage-class %q: %s", storageClass, strings.Join(msgs, "; ")))
		}
	}
	if err := checkFiles(in); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// writeObjects writes objs as a multi-document YAML stream after header
// (each line a comment).
func writeObjects(w io.Writer, header string, objs ...any) error {
	var buf bytes.Buffer
	if header != "" {
		for line := range strings.Lines(header) {
			buf.WriteString("# " + line)
		}
		if !strings.HasSuffix(header, "\n") {
			buf.WriteString("\n")
		}
	}
	for i, obj := range objs {
		b, err := yaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("k8s: %w", err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
