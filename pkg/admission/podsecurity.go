package admission

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Namespace labels that set the Pod Security Standards level per mode.
const (
	PodSecurityEnforceLabel = "pod-security.kubernetes.io/enforce"
	PodSecurityAuditLabel   = "pod-security.kubernetes.io/audit"
	PodSecurityWarnLabel    = "pod-security.kubernetes.io/warn"
)

// Pod Security Standards levels.
const (
	LevelPrivileged = "privileged"
	LevelBaseline   = "baseline"
	LevelRestricted = "restricted"
)

// PodSecurity is upstream's PodSecurity admission plugin: the namespace's
// pod-security.kubernetes.io/{enforce,warn} labels pick a Pod Security
// Standards level (privileged, baseline, restricted); pods violating the
// enforce level are refused with upstream's message, violations of the
// warn level (and workload templates against either) become warnings.
// Only the latest version of the standards is implemented: a pinned
// -version is shown in messages but evaluated as latest. Nothing is
// exempt. The audit mode is not recorded (no audit annotations yet).
type PodSecurity struct {
	store Store
}

// NewPodSecurity returns the plugin reading namespaces from store.
func NewPodSecurity(store Store) *PodSecurity { return &PodSecurity{store: store} }

var _ Validator = (*PodSecurity)(nil)

// levelVersion is one mode's policy, e.g. restricted:latest.
type levelVersion struct{ level, version string }

func (l levelVersion) String() string { return l.level + ":" + l.version }

var versionPattern = regexp.MustCompile(`^v1\.(0|[1-9][0-9]*)$`)

// policyFor reads one mode's level and version from namespace labels; a
// missing level is privileged, an invalid one restricted (as upstream).
func policyFor(labels map[string]string, mode string) levelVersion {
	lv := levelVersion{level: LevelPrivileged, version: "latest"}
	if l, ok := labels[mode]; ok {
		switch l {
		case LevelPrivileged, LevelBaseline, LevelRestricted:
			lv.level = l
		default:
			return levelVersion{level: LevelRestricted, version: "latest"}
		}
	}
	if v, ok := labels[mode+"-version"]; ok {
		if v != "latest" && !versionPattern.MatchString(v) {
			return levelVersion{level: LevelRestricted, version: "latest"}
		}
		lv.version = v
	}
	return lv
}

// Validate evaluates a pod (create, significant update, ephemeral
// containers) or a workload's pod template.
func (p *PodSecurity) Validate(ctx context.Context, a *Attributes) error {
	if a.Namespace == "" || (a.Operation != Create && a.Operation != Update) {
		return nil
	}
	meta, spec, isPod := podTemplateOf(a.Object)
	if spec == nil {
		return nil
	}
	if isPod {
		if a.Subresource != "" && a.Subresource != "ephemeralcontainers" {
			return nil
		}
		if a.Operation == Update && a.Subresource == "" {
			if old, ok := a.OldObject.(*corev1.Pod); ok && !significantPodUpdate(a.Object.(*corev1.Pod), old) {
				return nil
			}
		}
	} else {
		if a.Subresource != "" {
			return nil
		}
		if a.Operation == Update {
			if oldMeta, oldSpec, _ := podTemplateOf(a.OldObject); oldSpec != nil &&
				reflect.DeepEqual(oldSpec, spec) && reflect.DeepEqual(oldMeta.Annotations, meta.Annotations) {
				return nil
			}
		}
	}
	obj, err := p.store.Get(ctx, grNamespaces, "", a.Namespace)
	if err != nil {
		return fmt.Errorf("failed to lookup namespace %q: %w", a.Namespace, err)
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return fmt.Errorf("unexpected object %T for a namespace", obj)
	}
	enforce := policyFor(ns.Labels, PodSecurityEnforceLabel)
	warn := policyFor(ns.Labels, PodSecurityWarnLabel)
	if isPod {
		if r := Evaluate(enforce.level, meta, spec); len(r) > 0 {
			return forbidden(a, fmt.Errorf("violates PodSecurity %q: %s", enforce.String(), r))
		}
		if warn != enforce {
			if r := Evaluate(warn.level, meta, spec); len(r) > 0 {
				a.AddWarning(fmt.Sprintf("would violate PodSecurity %q: %s", warn.String(), r))
			}
		}
		return nil
	}
	// Workloads are not refused: their pods will be. Warn about both.
	for _, lv := range []levelVersion{enforce, warn} {
		if r := Evaluate(lv.level, meta, spec); len(r) > 0 {
			a.AddWarning(fmt.Sprintf("would violate PodSecurity %q: %s", lv.String(), r))
			break
		}
	}
	return nil
}

// podTemplateOf returns the pod metadata and spec of a pod or of a
// workload's template; isPod tells which.
func podTemplateOf(obj interface{}) (*metav1.ObjectMeta, *corev1.PodSpec, bool) {
	switch o := obj.(type) {
	case *corev1.Pod:
		return &o.ObjectMeta, &o.Spec, true
	case *corev1.PodTemplate:
		return &o.Template.ObjectMeta, &o.Template.Spec, false
	case *corev1.ReplicationController:
		if o.Spec.Template == nil {
			return nil, nil, false
		}
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, false
	case *appsv1.Deployment:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, false
	case *appsv1.ReplicaSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, false
	case *appsv1.StatefulSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, false
	case *appsv1.DaemonSet:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, false
	case *batchv1.Job:
		return &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec, false
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec, false
	}
	return nil, nil, false
}

// significantPodUpdate is upstream's rule: only image changes, seccomp
// annotation changes and new or changed ephemeral containers are
// re-evaluated on a pod update.
func significantPodUpdate(pod, old *corev1.Pod) bool {
	const seccompPod = "seccomp.security.alpha.kubernetes.io/pod"
	const seccompContainer = "container.seccomp.security.alpha.kubernetes.io/"
	if pod.Annotations[seccompPod] != old.Annotations[seccompPod] {
		return true
	}
	if len(pod.Spec.Containers) != len(old.Spec.Containers) || len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return true
	}
	changed := func(c, oc *corev1.Container) bool {
		return c.Image != oc.Image || pod.Annotations[seccompContainer+c.Name] != old.Annotations[seccompContainer+c.Name]
	}
	for i := range pod.Spec.Containers {
		if changed(&pod.Spec.Containers[i], &old.Spec.Containers[i]) {
			return true
		}
	}
	for i := range pod.Spec.InitContainers {
		if changed(&pod.Spec.InitContainers[i], &old.Spec.InitContainers[i]) {
			return true
		}
	}
	for i := range pod.Spec.EphemeralContainers {
		c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		var oc *corev1.Container
		for j := range old.Spec.EphemeralContainers {
			if old.Spec.EphemeralContainers[j].Name == c.Name {
				x := corev1.Container(old.Spec.EphemeralContainers[j].EphemeralContainerCommon)
				oc = &x
				break
			}
		}
		if oc == nil || changed(&c, oc) {
			return true
		}
	}
	return false
}

// Violations are the failed checks of an evaluation, rendered as upstream:
// "reason (detail), reason (detail)".
type Violations []Violation

// Violation is one failed check.
type Violation struct {
	ID, Reason, Detail string
}

func (v Violations) String() string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = x.Reason
		if x.Detail != "" {
			parts[i] += " (" + x.Detail + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// check is one Pod Security Standards control; it returns a violation or
// nil.
type check struct {
	id         string
	restricted bool
	// overrides names the baseline check this restricted one replaces.
	overrides string
	fn        func(meta *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation
}

var checks = []check{
	{id: "appArmorProfile", fn: checkAppArmor},
	{id: "capabilities_baseline", fn: checkCapabilitiesBaseline},
	{id: "hostNamespaces", fn: checkHostNamespaces},
	{id: "hostPathVolumes", fn: checkHostPathVolumes},
	{id: "hostPorts", fn: checkHostPorts},
	{id: "privileged", fn: checkPrivileged},
	{id: "procMount", fn: checkProcMount},
	{id: "seccompProfile_baseline", fn: checkSeccompBaseline},
	{id: "seLinuxOptions", fn: checkSELinux},
	{id: "sysctls", fn: checkSysctls},
	{id: "windowsHostProcess", fn: checkWindowsHostProcess},
	{id: "allowPrivilegeEscalation", restricted: true, fn: checkAllowPrivilegeEscalation},
	{id: "capabilities_restricted", restricted: true, overrides: "capabilities_baseline", fn: checkCapabilitiesRestricted},
	{id: "runAsNonRoot", restricted: true, fn: checkRunAsNonRoot},
	{id: "runAsUser", restricted: true, fn: checkRunAsUser},
	{id: "seccompProfile_restricted", restricted: true, overrides: "seccompProfile_baseline", fn: checkSeccompRestricted},
	{id: "restrictedVolumes", restricted: true, overrides: "hostPathVolumes", fn: checkRestrictedVolumes},
}

// Evaluate runs the checks of level on a pod's metadata and spec, in
// upstream's order (by check ID), and returns what fails.
func Evaluate(level string, meta *metav1.ObjectMeta, spec *corev1.PodSpec) Violations {
	if level == LevelPrivileged {
		return nil
	}
	if meta == nil {
		meta = &metav1.ObjectMeta{}
	}
	overridden := map[string]bool{}
	var run []check
	for _, c := range checks {
		if c.restricted && level != LevelRestricted {
			continue
		}
		if c.overrides != "" {
			overridden[c.overrides] = true
		}
		run = append(run, c)
	}
	sort.Slice(run, func(i, j int) bool { return run[i].id < run[j].id })
	var out Violations
	for _, c := range run {
		if overridden[c.id] {
			continue
		}
		if v := c.fn(meta, spec); v != nil {
			v.ID = c.id
			out = append(out, *v)
		}
	}
	return out
}

// Helpers in upstream's phrasing.

func pluralize(singular, plural string, n int) string {
	if n == 1 {
		return singular
	}
	return plural
}

func joinQuote(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func containersPhrase(names []string) string {
	return pluralize("container", "containers", len(names)) + " " + joinQuote(names)
}

// visitContainers calls f on init, regular and ephemeral containers.
func visitContainers(spec *corev1.PodSpec, f func(c *corev1.Container)) {
	for i := range spec.InitContainers {
		f(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		f(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		f(&c)
	}
}

type stringSet map[string]bool

func (s stringSet) list() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isWindows(spec *corev1.PodSpec) bool {
	return spec.OS != nil && spec.OS.Name == corev1.Windows
}

// Baseline checks.

func checkAppArmor(meta *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	valid := func(p *corev1.AppArmorProfile) bool {
		return p == nil || p.Type == corev1.AppArmorProfileTypeRuntimeDefault || p.Type == corev1.AppArmorProfileTypeLocalhost
	}
	var setters []string
	bad := stringSet{}
	if sc := spec.SecurityContext; sc != nil && !valid(sc.AppArmorProfile) {
		setters = append(setters, "pod")
		bad[string(sc.AppArmorProfile.Type)] = true
	}
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext != nil && !valid(c.SecurityContext.AppArmorProfile) {
			containers = append(containers, c.Name)
			bad[string(c.SecurityContext.AppArmorProfile.Type)] = true
		}
	})
	if len(containers) > 0 {
		setters = append(setters, containersPhrase(containers))
	}
	values := bad.list()
	var annotations []string
	for k, v := range meta.Annotations {
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) &&
			v != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault && !strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
			annotations = append(annotations, fmt.Sprintf("%s=%q", k, v))
		}
	}
	if len(annotations) > 0 {
		sort.Strings(annotations)
		values = append(values, annotations...)
		setters = append(setters, pluralize("annotation", "annotations", len(annotations)))
	}
	if len(setters) == 0 {
		return nil
	}
	return &Violation{
		Reason: pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
		Detail: fmt.Sprintf("%s must not set AppArmor profile type to %s", strings.Join(setters, " and "), joinQuote(values)),
	}
}

var baselineCapabilities = stringSet{
	"AUDIT_WRITE": true, "CHOWN": true, "DAC_OVERRIDE": true, "FOWNER": true, "FSETID": true, "KILL": true, "MKNOD": true,
	"NET_BIND_SERVICE": true, "SETFCAP": true, "SETGID": true, "SETPCAP": true, "SETUID": true, "SYS_CHROOT": true,
}

func checkCapabilitiesBaseline(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var containers []string
	bad := stringSet{}
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
			return
		}
		ok := true
		for _, cap := range c.SecurityContext.Capabilities.Add {
			if !baselineCapabilities[string(cap)] {
				ok = false
				bad[string(cap)] = true
			}
		}
		if !ok {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) == 0 {
		return nil
	}
	return &Violation{Reason: "non-default capabilities",
		Detail: fmt.Sprintf("%s must not include %s in securityContext.capabilities.add", containersPhrase(containers), joinQuote(bad.list()))}
}

func checkHostNamespaces(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var set []string
	if spec.HostNetwork {
		set = append(set, "hostNetwork=true")
	}
	if spec.HostPID {
		set = append(set, "hostPID=true")
	}
	if spec.HostIPC {
		set = append(set, "hostIPC=true")
	}
	if len(set) == 0 {
		return nil
	}
	return &Violation{Reason: "host namespaces", Detail: strings.Join(set, ", ")}
}

func checkHostPathVolumes(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var vols []string
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			vols = append(vols, v.Name)
		}
	}
	if len(vols) == 0 {
		return nil
	}
	return &Violation{Reason: "hostPath volumes", Detail: pluralize("volume", "volumes", len(vols)) + " " + joinQuote(vols)}
}

func checkHostPorts(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var containers []string
	ports := stringSet{}
	visitContainers(spec, func(c *corev1.Container) {
		ok := true
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				ok = false
				ports[strconv.Itoa(int(p.HostPort))] = true
			}
		}
		if !ok {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) == 0 {
		return nil
	}
	return &Violation{Reason: "hostPort", Detail: fmt.Sprintf("%s %s %s %s", containersPhrase(containers),
		pluralize("uses", "use", len(containers)), pluralize("hostPort", "hostPorts", len(ports)), strings.Join(ports.list(), ", "))}
}

func checkPrivileged(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) == 0 {
		return nil
	}
	return &Violation{Reason: "privileged", Detail: containersPhrase(containers) + " must not set securityContext.privileged=true"}
}

func checkProcMount(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var containers []string
	types := stringSet{}
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext == nil || c.SecurityContext.ProcMount == nil {
			return
		}
		if *c.SecurityContext.ProcMount != corev1.DefaultProcMount {
			containers = append(containers, c.Name)
			types[string(*c.SecurityContext.ProcMount)] = true
		}
	})
	if len(containers) == 0 {
		return nil
	}
	return &Violation{Reason: "procMount", Detail: fmt.Sprintf("%s must not set securityContext.procMount to %s", containersPhrase(containers), joinQuote(types.list()))}
}

func checkSeccompBaseline(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var setters []string
	if sc := spec.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
		setters = append(setters, "pod")
	}
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if sc := c.SecurityContext; sc != nil && sc.SeccompProfile != nil && sc.SeccompProfile.Type == corev1.SeccompProfileTypeUnconfined {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) > 0 {
		setters = append(setters, containersPhrase(containers))
	}
	if len(setters) == 0 {
		return nil
	}
	return &Violation{Reason: "seccompProfile", Detail: fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %q", strings.Join(setters, " and "), corev1.SeccompProfileTypeUnconfined)}
}

var allowedSELinuxTypes = stringSet{"": true, "container_t": true, "container_init_t": true, "container_kvm_t": true, "container_engine_t": true}

func checkSELinux(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	badTypes := stringSet{}
	setUser, setRole := false, false
	valid := func(o *corev1.SELinuxOptions) bool {
		ok := true
		if !allowedSELinuxTypes[o.Type] {
			ok = false
			badTypes[o.Type] = true
		}
		if o.User != "" {
			ok, setUser = false, true
		}
		if o.Role != "" {
			ok, setRole = false, true
		}
		return ok
	}
	var setters []string
	if sc := spec.SecurityContext; sc != nil && sc.SELinuxOptions != nil && !valid(sc.SELinuxOptions) {
		setters = append(setters, "pod")
	}
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if sc := c.SecurityContext; sc != nil && sc.SELinuxOptions != nil && !valid(sc.SELinuxOptions) {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) > 0 {
		setters = append(setters, containersPhrase(containers))
	}
	if len(setters) == 0 {
		return nil
	}
	var data []string
	if len(badTypes) > 0 {
		data = append(data, pluralize("type", "types", len(badTypes))+" "+joinQuote(badTypes.list()))
	}
	if setUser {
		data = append(data, "user may not be set")
	}
	if setRole {
		data = append(data, "role may not be set")
	}
	return &Violation{Reason: "seLinuxOptions", Detail: fmt.Sprintf("%s set forbidden securityContext.seLinuxOptions: %s", strings.Join(setters, " and "), strings.Join(data, "; "))}
}

// safeSysctls are the namespaced sysctls the baseline level allows.
var safeSysctls = stringSet{
	"kernel.shm_rmid_forced": true, "net.ipv4.ip_local_port_range": true, "net.ipv4.ip_unprivileged_port_start": true,
	"net.ipv4.tcp_syncookies": true, "net.ipv4.ping_group_range": true, "net.ipv4.ip_local_reserved_ports": true,
	"net.ipv4.tcp_keepalive_time": true, "net.ipv4.tcp_fin_timeout": true, "net.ipv4.tcp_keepalive_intvl": true,
	"net.ipv4.tcp_keepalive_probes": true, "net.ipv4.tcp_rmem": true, "net.ipv4.tcp_wmem": true,
}

func checkSysctls(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	if spec.SecurityContext == nil {
		return nil
	}
	var bad []string
	for _, s := range spec.SecurityContext.Sysctls {
		if !safeSysctls[s.Name] {
			bad = append(bad, s.Name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return &Violation{Reason: "forbidden sysctls", Detail: strings.Join(bad, ", ")}
}

func checkWindowsHostProcess(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	hostProcess := func(o *corev1.WindowsSecurityContextOptions) bool {
		return o != nil && o.HostProcess != nil && *o.HostProcess
	}
	var setters []string
	if sc := spec.SecurityContext; sc != nil && hostProcess(sc.WindowsOptions) {
		setters = append(setters, "pod")
	}
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext != nil && hostProcess(c.SecurityContext.WindowsOptions) {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) > 0 {
		setters = append(setters, containersPhrase(containers))
	}
	if len(setters) == 0 {
		return nil
	}
	return &Violation{Reason: "hostProcess", Detail: strings.Join(setters, " and ") + " must not set securityContext.windowsOptions.hostProcess=true"}
}

// Restricted checks.

func checkAllowPrivilegeEscalation(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	if isWindows(spec) {
		return nil
	}
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) == 0 {
		return nil
	}
	return &Violation{Reason: "allowPrivilegeEscalation != false", Detail: containersPhrase(containers) + " must set securityContext.allowPrivilegeEscalation=false"}
}

func checkCapabilitiesRestricted(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	if isWindows(spec) {
		return nil
	}
	var missingDrop, adding []string
	bad := stringSet{}
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext == nil || c.SecurityContext.Capabilities == nil {
			missingDrop = append(missingDrop, c.Name)
			return
		}
		dropped := false
		for _, cap := range c.SecurityContext.Capabilities.Drop {
			if cap == "ALL" {
				dropped = true
				break
			}
		}
		if !dropped {
			missingDrop = append(missingDrop, c.Name)
		}
		added := false
		for _, cap := range c.SecurityContext.Capabilities.Add {
			if cap != "NET_BIND_SERVICE" {
				added = true
				bad[string(cap)] = true
			}
		}
		if added {
			adding = append(adding, c.Name)
		}
	})
	var details []string
	if len(missingDrop) > 0 {
		details = append(details, containersPhrase(missingDrop)+` must set securityContext.capabilities.drop=["ALL"]`)
	}
	if len(adding) > 0 {
		details = append(details, fmt.Sprintf("%s must not include %s in securityContext.capabilities.add", containersPhrase(adding), joinQuote(bad.list())))
	}
	if len(details) == 0 {
		return nil
	}
	return &Violation{Reason: "unrestricted capabilities", Detail: strings.Join(details, "; ")}
}

func checkRunAsNonRoot(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var setters []string
	podNonRoot := false
	if sc := spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
		if *sc.RunAsNonRoot {
			podNonRoot = true
		} else {
			setters = append(setters, "pod")
		}
	}
	var explicit, implicit []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext != nil && c.SecurityContext.RunAsNonRoot != nil {
			if !*c.SecurityContext.RunAsNonRoot {
				explicit = append(explicit, c.Name)
			}
		} else if !podNonRoot {
			implicit = append(implicit, c.Name)
		}
	})
	if len(explicit) > 0 {
		setters = append(setters, containersPhrase(explicit))
	}
	if len(setters) > 0 {
		return &Violation{Reason: "runAsNonRoot != true", Detail: strings.Join(setters, " and ") + " must not set securityContext.runAsNonRoot=false"}
	}
	if len(implicit) > 0 {
		return &Violation{Reason: "runAsNonRoot != true", Detail: "pod or " + containersPhrase(implicit) + " must set securityContext.runAsNonRoot=true"}
	}
	return nil
}

func checkRunAsUser(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var setters []string
	if sc := spec.SecurityContext; sc != nil && sc.RunAsUser != nil && *sc.RunAsUser == 0 {
		setters = append(setters, "pod")
	}
	var containers []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil && *c.SecurityContext.RunAsUser == 0 {
			containers = append(containers, c.Name)
		}
	})
	if len(containers) > 0 {
		setters = append(setters, containersPhrase(containers))
	}
	if len(setters) == 0 {
		return nil
	}
	return &Violation{Reason: "runAsUser=0", Detail: strings.Join(setters, " and ") + " must not set runAsUser=0"}
}

func checkSeccompRestricted(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	if isWindows(spec) {
		return nil
	}
	valid := func(t corev1.SeccompProfileType) bool {
		return t == corev1.SeccompProfileTypeRuntimeDefault || t == corev1.SeccompProfileTypeLocalhost
	}
	var setters []string
	bad := stringSet{}
	podSet := false
	if sc := spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		if valid(sc.SeccompProfile.Type) {
			podSet = true
		} else {
			setters = append(setters, "pod")
			bad[string(sc.SeccompProfile.Type)] = true
		}
	}
	var explicit, implicit []string
	visitContainers(spec, func(c *corev1.Container) {
		if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
			if !valid(c.SecurityContext.SeccompProfile.Type) {
				explicit = append(explicit, c.Name)
				bad[string(c.SecurityContext.SeccompProfile.Type)] = true
			}
		} else if !podSet {
			implicit = append(implicit, c.Name)
		}
	})
	if len(explicit) > 0 {
		setters = append(setters, containersPhrase(explicit))
	}
	if len(setters) > 0 {
		return &Violation{Reason: "seccompProfile", Detail: fmt.Sprintf("%s must not set securityContext.seccompProfile.type to %s", strings.Join(setters, " and "), joinQuote(bad.list()))}
	}
	if len(implicit) > 0 {
		return &Violation{Reason: "seccompProfile", Detail: "pod or " + containersPhrase(implicit) + ` must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`}
	}
	return nil
}

func checkRestrictedVolumes(_ *metav1.ObjectMeta, spec *corev1.PodSpec) *Violation {
	var vols []string
	types := stringSet{}
	for _, v := range spec.Volumes {
		s := v.VolumeSource
		if s.ConfigMap != nil || s.CSI != nil || s.DownwardAPI != nil || s.EmptyDir != nil || s.Ephemeral != nil ||
			s.PersistentVolumeClaim != nil || s.Projected != nil || s.Secret != nil || s.Image != nil {
			continue
		}
		vols = append(vols, v.Name)
		types[restrictedVolumeType(s)] = true
	}
	if len(vols) == 0 {
		return nil
	}
	return &Violation{Reason: "restricted volume types", Detail: fmt.Sprintf("%s %s %s %s %s",
		pluralize("volume", "volumes", len(vols)), joinQuote(vols), pluralize("uses", "use", len(vols)),
		pluralize("restricted volume type", "restricted volume types", len(types)), joinQuote(types.list()))}
}

func restrictedVolumeType(s corev1.VolumeSource) string {
	switch {
	case s.HostPath != nil:
		return "hostPath"
	case s.GCEPersistentDisk != nil:
		return "gcePersistentDisk"
	case s.AWSElasticBlockStore != nil:
		return "awsElasticBlockStore"
	case s.GitRepo != nil:
		return "gitRepo"
	case s.NFS != nil:
		return "nfs"
	case s.ISCSI != nil:
		return "iscsi"
	case s.Glusterfs != nil:
		return "glusterfs"
	case s.RBD != nil:
		return "rbd"
	case s.FlexVolume != nil:
		return "flexVolume"
	case s.Cinder != nil:
		return "cinder"
	case s.CephFS != nil:
		return "cephfs"
	case s.Flocker != nil:
		return "flocker"
	case s.FC != nil:
		return "fc"
	case s.AzureFile != nil:
		return "azureFile"
	case s.VsphereVolume != nil:
		return "vsphereVolume"
	case s.Quobyte != nil:
		return "quobyte"
	case s.AzureDisk != nil:
		return "azureDisk"
	case s.PhotonPersistentDisk != nil:
		return "photonPersistentDisk"
	case s.PortworxVolume != nil:
		return "portworxVolume"
	case s.ScaleIO != nil:
		return "scaleIO"
	case s.StorageOS != nil:
		return "storageos"
	}
	return "unknown"
}
