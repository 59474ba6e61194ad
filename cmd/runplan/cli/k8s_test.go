package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/runplan/runplan/engine/redact"
	_ "github.com/runplan/runplan/scenarios/all"
)

// k8sObjects are the manifests of runplan k8s, decoded strictly.
type k8sObjects struct {
	cm       corev1.ConfigMap
	claim    corev1.PersistentVolumeClaim
	segments batchv1.Job
	merge    batchv1.Job
}

// runK8s runs runplan k8s at now through a redacting writer, as Main does.
func runK8s(t *testing.T, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	red := redact.New()
	out, errOut := red.NewWriter(&stdout), red.NewWriter(&stderr)
	code := k8sAt(args, out, errOut, func() time.Time { return now })
	_ = out.Flush()
	_ = errOut.Flush()
	return code, stdout.String(), stderr.String()
}

// decodeK8s decodes the four documents strictly (an unknown field fails).
func decodeK8s(t *testing.T, manifests string) k8sObjects {
	t.Helper()
	docs := strings.Split(manifests, "\n---\n")
	if len(docs) != 4 {
		t.Fatalf("%d documents, want 4 (ConfigMap, PVC, Job, merge Job):\n%s", len(docs), manifests)
	}
	var o k8sObjects
	for i, v := range []any{&o.cm, &o.claim, &o.segments, &o.merge} {
		if err := yaml.UnmarshalStrict([]byte(docs[i]), v); err != nil {
			t.Fatalf("document %d: %v\n%s", i, err, docs[i])
		}
	}
	for _, tm := range []struct{ got, want string }{
		{o.cm.APIVersion + " " + o.cm.Kind, "v1 ConfigMap"},
		{o.claim.APIVersion + " " + o.claim.Kind, "v1 PersistentVolumeClaim"},
		{o.segments.APIVersion + " " + o.segments.Kind, "batch/v1 Job"},
		{o.merge.APIVersion + " " + o.merge.Kind, "batch/v1 Job"},
	} {
		if tm.got != tm.want {
			t.Errorf("kind %q, want %q", tm.got, tm.want)
		}
	}
	return o
}

func TestK8sManifests(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 4, 40, 0, 0, time.FixedZone("CET", 3600))
	const (
		redisPass   = "s3cretRedisPassw0rd"
		webhookTok  = "webhookTokenSecretValue123456"
		webhookURL  = "https://discord.com/api/webhooks/123456789/" + webhookTok
		redisURLVal = "redis://:" + redisPass + "@redis.example:6379/0"
	)
	envFile := filepath.Join(t.TempDir(), "run.env")
	if err := os.WriteFile(envFile, []byte("REDIS_URL="+redisURLVal+"\nDISCORD_WEBHOOK_URL="+webhookURL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, plan string
		args       []string
		n          int
		lead       time.Duration
		// files are the ConfigMap's items: path in /plan -> file in plans/.
		files    map[string]string
		planPath string
		vars     []string
		secret   string
	}{
		{
			name: "data file", plan: "signal-delivery.yaml", n: 3, lead: 30 * time.Second,
			args:     []string{"--cpu", "2", "--memory", "1Gi"},
			files:    map[string]string{"signal-delivery.yaml": "signal-delivery.yaml", "data/signals.csv": "data/signals.csv"},
			planPath: "/plan/signal-delivery.yaml",
			vars:     []string{"DISCORD_ALERTS_URL", "DISCORD_WEBHOOK_URL", "REDIS_URL"},
			secret:   "signal-delivery-env",
		},
		{
			name: "fragment", plan: "phase1-shared.yaml", n: 4, lead: 2 * time.Minute,
			args:     []string{"--start-lead", "2m", "--secret", "phase1-creds", "--namespace", "load", "--env-file", envFile},
			files:    map[string]string{"phase1-shared.yaml": "phase1-shared.yaml", "shared/targets.yaml": "shared/targets.yaml"},
			planPath: "/plan/phase1-shared.yaml",
			vars:     []string{"DISCORD_WEBHOOK_URL", "REDIS_URL"},
			secret:   "phase1-creds",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"../../../plans/" + tt.plan, "--parallelism", fmt.Sprint(tt.n), "--run-id", "r42", "--image", "example.org/runplan:test"}, tt.args...)
			code, stdout, stderr := runK8s(t, now, args...)
			if code != ExitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, s := range []string{redisPass, webhookTok, redisURLVal, webhookURL, redact.Mask} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("output holds %q", s)
				}
			}
			o := decodeK8s(t, stdout)
			n := int32(tt.n)

			// Names: DNS-1123, derived from the plan and the run id.
			for _, name := range []string{o.cm.Name, o.claim.Name, o.segments.Name, o.merge.Name} {
				if msgs := validation.IsDNS1123Label(name); len(msgs) > 0 {
					t.Errorf("name %q: %v", name, msgs)
				}
				if !strings.Contains(name, "-r42") {
					t.Errorf("name %q lacks the run id", name)
				}
			}
			for _, m := range []map[string]string{o.cm.Labels, o.claim.Labels, o.segments.Labels, o.merge.Labels,
				o.segments.Spec.Template.Labels, o.merge.Spec.Template.Labels} {
				if m["runplan.dev/run-id"] != "r42" || m["app.kubernetes.io/instance"] != o.segments.Name {
					t.Errorf("labels %v", m)
				}
			}

			// The ConfigMap holds every file, mounted back at its path.
			job := o.segments.Spec
			vol := func(spec corev1.PodSpec, name string) *corev1.Volume {
				for i := range spec.Volumes {
					if spec.Volumes[i].Name == name {
						return &spec.Volumes[i]
					}
				}
				t.Fatalf("no volume %q in %v", name, spec.Volumes)
				return nil
			}
			planVol := vol(job.Template.Spec, "plan")
			if planVol.ConfigMap == nil || planVol.ConfigMap.Name != o.cm.Name {
				t.Fatalf("plan volume %+v, want ConfigMap %s", planVol, o.cm.Name)
			}
			if len(planVol.ConfigMap.Items) != len(tt.files) || len(o.cm.Data) != len(tt.files) {
				t.Errorf("items %v, data keys %d; want %d files", planVol.ConfigMap.Items, len(o.cm.Data), len(tt.files))
			}
			for _, it := range planVol.ConfigMap.Items {
				src, ok := tt.files[it.Path]
				if !ok {
					t.Errorf("item %s -> %s: not a file of the plan", it.Key, it.Path)
					continue
				}
				want, err := os.ReadFile("../../../plans/" + src)
				if err != nil {
					t.Fatal(err)
				}
				if o.cm.Data[it.Key] != string(want) {
					t.Errorf("ConfigMap key %s (%s) is not plans/%s", it.Key, it.Path, src)
				}
				if msgs := validation.IsConfigMapKey(it.Key); len(msgs) > 0 {
					t.Errorf("key %q: %v", it.Key, msgs)
				}
			}

			// The Indexed Job.
			if job.CompletionMode == nil || *job.CompletionMode != batchv1.IndexedCompletion {
				t.Errorf("completionMode %v", job.CompletionMode)
			}
			if *job.Completions != n || *job.Parallelism != n {
				t.Errorf("completions %d parallelism %d, want %d", *job.Completions, *job.Parallelism, n)
			}
			if job.BackoffLimitPerIndex == nil || *job.BackoffLimitPerIndex != 0 || job.MaxFailedIndexes == nil || *job.MaxFailedIndexes != n {
				t.Errorf("backoffLimitPerIndex %v maxFailedIndexes %v", job.BackoffLimitPerIndex, job.MaxFailedIndexes)
			}
			pod := job.Template.Spec
			if pod.RestartPolicy != corev1.RestartPolicyNever {
				t.Errorf("restartPolicy %s", pod.RestartPolicy)
			}
			checkSecurity(t, pod)
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers", len(pod.Containers))
			}
			c := pod.Containers[0]
			if slices.Contains(tt.args, "--cpu") && (c.Resources.Limits.Cpu().String() != "2" || c.Resources.Requests.Memory().String() != "1Gi") {
				t.Errorf("resources %+v, want cpu 2, memory 1Gi", c.Resources)
			}
			if c.Image != "example.org/runplan:test" {
				t.Errorf("image %s", c.Image)
			}
			startAt := now.Add(tt.lead).UTC().Format(time.RFC3339)
			wantArgs := []string{"run", tt.planPath, "--segments", fmt.Sprint(tt.n), "--run-id", "r42",
				"--start-at", startAt, "--out", "/reports/segment-$(JOB_COMPLETION_INDEX).json"}
			if !slices.Equal(c.Args[:len(wantArgs)], wantArgs) {
				t.Errorf("args %q\nwant %q...", c.Args, wantArgs)
			}
			if !strings.HasSuffix(startAt, "Z") {
				t.Errorf("start-at %s not UTC", startAt)
			}
			idx := c.Env[0]
			if idx.Name != "JOB_COMPLETION_INDEX" || idx.ValueFrom == nil || idx.ValueFrom.FieldRef == nil ||
				idx.ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
				t.Errorf("env[0] %+v: want JOB_COMPLETION_INDEX from the completion index", idx)
			}
			checkMounts(t, pod)
			if m := mountOf(c, "plan"); m == nil || m.MountPath != "/plan" || !m.ReadOnly {
				t.Errorf("plan mount %+v", m)
			}
			if m := mountOf(c, "reports"); m == nil || m.MountPath != "/reports" {
				t.Errorf("reports mount %+v", m)
			}
			if v := vol(pod, "reports"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != o.claim.Name {
				t.Errorf("reports volume %+v, want claim %s", v, o.claim.Name)
			}

			// The plan's variables come from the Secret, by reference.
			var refs []string
			for _, e := range c.Env {
				if e.Value != "" && slices.Contains(tt.vars, e.Name) {
					t.Errorf("variable %s given by value", e.Name)
				}
				if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
					r := e.ValueFrom.SecretKeyRef
					if r.Name != tt.secret || r.Key != e.Name || r.Optional == nil || !*r.Optional {
						t.Errorf("env %s: secretKeyRef %+v, want optional key %s of %s", e.Name, r, e.Name, tt.secret)
					}
					refs = append(refs, e.Name)
				}
			}
			if !slices.Equal(refs, tt.vars) {
				t.Errorf("secret refs %v, want %v", refs, tt.vars)
			}

			// The claim.
			if !slices.Equal(o.claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}) {
				t.Errorf("access modes %v", o.claim.Spec.AccessModes)
			}

			// The merge Job waits for the N reports, then merges them.
			mp := o.merge.Spec.Template.Spec
			checkSecurity(t, mp)
			checkMounts(t, mp)
			if mp.RestartPolicy != corev1.RestartPolicyNever || len(mp.InitContainers) != 1 || len(mp.Containers) != 1 {
				t.Fatalf("merge pod %+v", mp)
			}
			var reports, indexes []string
			for i := range tt.n {
				reports = append(reports, fmt.Sprintf("/reports/segment-%d.json", i))
				indexes = append(indexes, fmt.Sprint(i))
			}
			wait := strings.Join(mp.InitContainers[0].Command, " ")
			if !strings.Contains(wait, "for i in "+strings.Join(indexes, " ")+";") || !strings.Contains(wait, "/reports/segment-$i.json") {
				t.Errorf("wait command %q does not wait for segments 0..%d", wait, tt.n-1)
			}
			if strings.Contains(wait, "$(") || strings.Contains(wait, "$$") {
				t.Errorf("wait command %q holds $( or $$, which Kubernetes expands", wait)
			}
			// The merge loads the plan (its checks run on the merged
			// figures): the plan's files are mounted where the segments
			// read them, with the same variables.
			wantMerge := append(append([]string{"merge"}, reports...), "--plan", tt.planPath, "--out", "/reports/report.json", "--junit", "/reports/junit.xml", "--markdown", "/reports/report.md")
			if got := mp.Containers[0].Args; !slices.Equal(got, wantMerge) {
				t.Errorf("merge args %q\nwant %q", got, wantMerge)
			}
			if m := mountOf(mp.Containers[0], "plan"); m == nil || m.MountPath != "/plan" {
				t.Errorf("merge container mounts the plan at %+v, want /plan", m)
			}
			if v := vol(mp, "plan"); v.ConfigMap == nil || v.ConfigMap.Name != o.cm.Name {
				t.Errorf("merge plan volume %+v, want the ConfigMap %s", v, o.cm.Name)
			}
			segEnv := map[string]bool{}
			for _, e := range o.segments.Spec.Template.Spec.Containers[0].Env {
				segEnv[e.Name] = true
			}
			for _, e := range mp.Containers[0].Env {
				delete(segEnv, e.Name)
			}
			delete(segEnv, "JOB_COMPLETION_INDEX")
			if len(segEnv) > 0 {
				t.Errorf("the merge lacks the segments' variables %v", segEnv)
			}
			if v := vol(mp, "reports"); v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != o.claim.Name {
				t.Errorf("merge reports volume %+v", v)
			}
			if tt.args != nil && slices.Contains(tt.args, "--namespace") {
				for _, ns := range []string{o.cm.Namespace, o.claim.Namespace, o.segments.Namespace, o.merge.Namespace} {
					if ns != "load" {
						t.Errorf("namespace %q, want load", ns)
					}
				}
			}
		})
	}
}

func mountOf(c corev1.Container, name string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// checkMounts checks that every mount of every container names a volume of the pod.
func checkMounts(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	vols := map[string]bool{}
	for _, v := range pod.Volumes {
		vols[v.Name] = true
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		if len(c.VolumeMounts) == 0 {
			t.Errorf("container %s mounts nothing", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !vols[m.Name] {
				t.Errorf("container %s mounts %q, not a volume of the pod", c.Name, m.Name)
			}
		}
	}
}

// checkSecurity checks non-root, a read-only root and no escalation.
func checkSecurity(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("pod security context %+v", sc)
	}
	for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Privileged != nil && *sc.Privileged {
			t.Errorf("container %s security context %+v", c.Name, sc)
		}
		if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
			t.Errorf("container %s resources %+v", c.Name, c.Resources)
		}
	}
}

func TestK8sRefusesSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	literal := filepath.Join(dir, "literal.yaml")
	if err := os.WriteFile(literal, []byte(`version: 1
name: literal
targets:
  cache: {driver: redis, url: "redis://:hunter2hunter2@redis.example:6379/0"}
scenarios:
  main: {load: {vus: 1, iterations: 1}, steps: [{redis: [PING]}]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"set url with password", []string{"../../../plans/quick.yaml", "--parallelism", "2", "--set", "targets.cache.url=redis://:hunter2hunter2@redis.example:6379"},
			"--set targets.cache.url=...: the value looks secret"},
		{"set password field", []string{"../../../plans/quick.yaml", "--parallelism", "2", "--set", "targets.cache.password=hunter2hunter2"},
			"--set targets.cache.password=...: the value looks secret"},
		{"credential in the plan", []string{literal, "--parallelism", "2", "--image", "example.org/runplan:test"}, "the manifests would hold a secret"},
		{"no parallelism", []string{"../../../plans/quick.yaml"}, "--parallelism N"},
		{"no image", []string{"../../../plans/quick.yaml", "--parallelism", "2"}, "no --image: build runplan's image"},
		{"bad run id", []string{"../../../plans/quick.yaml", "--parallelism", "2", "--run-id", "Bad_ID"}, `--run-id "Bad_ID"`},
		{"bad namespace", []string{"../../../plans/quick.yaml", "--parallelism", "2", "--namespace", "-x"}, `--namespace "-x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runK8s(t, now, tt.args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want %d; stderr: %s", code, ExitUsage, stderr)
			}
			if stdout != "" {
				t.Errorf("printed manifests:\n%s", stdout)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q, want %q", stderr, tt.want)
			}
			if strings.Contains(stderr, "hunter2hunter2") {
				t.Errorf("stderr holds the secret: %s", stderr)
			}
		})
	}
}

// TestK8sEnvFilePlainValues: a plain --env-file value is given by value,
// a secret one is left to the Secret.
func TestK8sEnvFilePlainValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "vars.yaml")
	if err := os.WriteFile(p, []byte(`version: 1
name: vars
targets:
  cache: {driver: redis, url: "${REDIS_URL:-}"}
scenarios:
  main:
    load:
      vus: ${VUS:-1}
      iterations: 2
    steps: [{redis: [PING]}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := filepath.Join(dir, "run.env")
	if err := os.WriteFile(env, []byte("VUS=3\nREDIS_URL=redis://:topsecretpw@db:6379\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runK8s(t, time.Unix(1_800_000_000, 0), p, "--parallelism", "2", "--env-file", env, "--run-id", "x1", "--image", "example.org/runplan:test")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(stdout+stderr, "topsecretpw") {
		t.Fatal("the secret is printed")
	}
	o := decodeK8s(t, stdout)
	got := map[string]string{}
	for _, e := range o.segments.Spec.Template.Spec.Containers[0].Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			got[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name
		case e.ValueFrom == nil:
			got[e.Name] = e.Value
		}
	}
	if got["VUS"] != "3" || got["REDIS_URL"] != "secret:vars-env" {
		t.Errorf("env %v: want VUS=3 by value, REDIS_URL from Secret vars-env", got)
	}
	if !strings.Contains(stderr, "REDIS_URL from --env-file looks secret") {
		t.Errorf("stderr %q does not say REDIS_URL is left to the Secret", stderr)
	}
}

// TestK8sFlagsDocumented: docs/K8S.md's flag table names every flag.
func TestK8sFlagsDocumented(t *testing.T) {
	t.Parallel()
	code, help, _ := runK8s(t, time.Unix(0, 0), "--help") // the help is the command's output: stdout
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	doc, err := os.ReadFile("../../../docs/K8S.md")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for line := range strings.Lines(help) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "-") {
			continue
		}
		n++
		if name := "`-" + f[0]; !strings.Contains(string(doc), name) {
			t.Errorf("docs/K8S.md does not document %s", name[1:])
		}
	}
	if n < 10 {
		t.Errorf("found %d flags in the help:\n%s", n, help)
	}
}
