// Package volume materialises a pod's volumes on the node and turns a
// container's volumeMounts into OCI bind mounts.
//
// Every volume lives under the pod's directory as upstream lays it out:
//
//	<root-dir>/pods/<uid>/volumes/kubernetes.io~<plugin>/<name>
//
// emptyDir is a directory (medium Memory: a tmpfs with the sizeLimit);
// hostPath is the host's path after its type check; configMap, secret,
// downwardAPI and projected are written by the atomic writer (the `..data`
// symlink swap), so an update of the source object shows up in running
// containers at once and whole; secret and projected volumes sit on a tmpfs
// so secrets never reach the disk. Manager.SetUp runs on every pod sync: it
// is idempotent, rewrites a volume only when its content changed, and
// renews service-account tokens at 80% of their lifetime. TearDown unmounts
// and removes everything once the pod's containers are gone.
package volume

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"
)

// Getter reads the API objects volumes are made from. The kubelet
// implements it with its clientset; every call may fail with the API's
// errors (NotFound is handled by the `optional` rules).
type Getter interface {
	ConfigMap(ctx context.Context, namespace, name string) (*v1.ConfigMap, error)
	Secret(ctx context.Context, namespace, name string) (*v1.Secret, error)
	// Token creates a token through serviceaccounts/<name>/token.
	Token(ctx context.Context, namespace, serviceAccount string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error)
}

// Fields resolves downward-API references for one pod.
type Fields struct {
	// Field resolves a fieldRef path other than metadata.labels and
	// metadata.annotations (which the volume formats itself).
	Field func(path string) (string, error)
	// Resource resolves a resourceFieldRef of the named container.
	Resource func(container string, ref *v1.ResourceFieldSelector) (string, error)
}

// Manager sets up and tears down pods' volumes.
type Manager struct {
	get Getter
	// ttl is how long a fetched ConfigMap or Secret is reused.
	ttl   time.Duration
	clock clock.Clock

	mu      sync.Mutex
	objects map[string]cachedObject
	tokens  map[tokenKey]*authenticationv1.TokenRequest
}

type cachedObject struct {
	obj     any // *v1.ConfigMap or *v1.Secret; nil when not found
	fetched time.Time
}

type tokenKey struct {
	podUID, namespace, serviceAccount, audience string
	expirationSeconds                           int64
}

// NewManager returns a Manager that reuses fetched ConfigMaps and Secrets
// for ttl (the kubelet's resync; upstream's cache strategy).
func NewManager(get Getter, ttl time.Duration) *Manager {
	return &Manager{get: get, ttl: ttl, clock: clock.RealClock{}, objects: map[string]cachedObject{}, tokens: map[tokenKey]*authenticationv1.TokenRequest{}}
}

// Path is where volume name of kind plugin lives in podDir.
func Path(podDir, plugin, name string) string {
	return filepath.Join(podDir, "volumes", "kubernetes.io~"+plugin, name)
}

// SetUp makes every volume of pod present and current under podDir and
// returns each volume's host path by name. It is safe to call on every
// sync. A volume that cannot be set up (a missing non-optional ConfigMap, a
// failed hostPath type check) is an error naming it.
func (m *Manager) SetUp(ctx context.Context, pod *v1.Pod, podDir string, fields Fields) (map[string]string, error) {
	paths := make(map[string]string, len(pod.Spec.Volumes))
	for i := range pod.Spec.Volumes {
		vol := &pod.Spec.Volumes[i]
		p, err := m.setUpOne(ctx, pod, podDir, vol, fields)
		if err != nil {
			return nil, fmt.Errorf("MountVolume.SetUp failed for volume %q: %w", vol.Name, err)
		}
		paths[vol.Name] = p
	}
	return paths, nil
}

func fsGroup(pod *v1.Pod) int64 {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.FSGroup != nil {
		return *sc.FSGroup
	}
	return -1
}

func (m *Manager) setUpOne(ctx context.Context, pod *v1.Pod, podDir string, vol *v1.Volume, fields Fields) (string, error) {
	gid := fsGroup(pod)
	switch {
	case vol.EmptyDir != nil:
		dir := Path(podDir, "empty-dir", vol.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return "", err
		}
		if vol.EmptyDir.Medium == v1.StorageMediumMemory {
			if err := ensureTmpfs(dir, vol.EmptyDir.SizeLimit); err != nil {
				return "", err
			}
		}
		// Writable by every user, as upstream (umask-free).
		if err := os.Chmod(dir, 0o777); err != nil {
			return "", err
		}
		if gid >= 0 {
			if err := os.Chown(dir, -1, int(gid)); err != nil {
				return "", err
			}
			if err := os.Chmod(dir, 0o777|os.ModeSetgid); err != nil {
				return "", err
			}
		}
		return dir, nil
	case vol.HostPath != nil:
		return vol.HostPath.Path, checkHostPath(vol.HostPath)
	case vol.ConfigMap != nil:
		files, err := m.configMapFiles(ctx, pod.Namespace, vol.ConfigMap.Name, vol.ConfigMap.Items, vol.ConfigMap.Optional, mode(vol.ConfigMap.DefaultMode))
		if err != nil {
			return "", err
		}
		return writeFiles(Path(podDir, "configmap", vol.Name), files, gid, false)
	case vol.Secret != nil:
		files, err := m.secretFiles(ctx, pod.Namespace, vol.Secret.SecretName, vol.Secret.Items, vol.Secret.Optional, mode(vol.Secret.DefaultMode))
		if err != nil {
			return "", err
		}
		return writeFiles(Path(podDir, "secret", vol.Name), files, gid, true)
	case vol.DownwardAPI != nil:
		files, err := downwardFiles(pod, vol.DownwardAPI.Items, mode(vol.DownwardAPI.DefaultMode), fields)
		if err != nil {
			return "", err
		}
		return writeFiles(Path(podDir, "downward-api", vol.Name), files, gid, false)
	case vol.Projected != nil:
		files, err := m.projectedFiles(ctx, pod, vol.Projected, fields)
		if err != nil {
			return "", err
		}
		return writeFiles(Path(podDir, "projected", vol.Name), files, gid, true)
	}
	return "", fmt.Errorf("volume type not supported by this kubelet")
}

// writeFiles writes a volume's files into dir, atomically (writeAtomic),
// and returns dir. With tmpfs (secret and projected volumes, which hold
// credentials) dir is a tmpfs mount first, so they never reach the disk.
func writeFiles(dir string, files map[string]File, gid int64, tmpfs bool) (string, error) {
	if tmpfs {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := ensureTmpfs(dir, nil); err != nil {
			return "", err
		}
	}
	_, err := writeAtomic(dir, files, gid)
	return dir, err
}

func mode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m)
}

func itemMode(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m)
}

// project maps data keys to files per items (all keys when items is
// empty); a key named by items that the data lacks is an error unless the
// source is optional.
func project(data map[string][]byte, items []v1.KeyToPath, def os.FileMode, optional bool, what string) (map[string]File, error) {
	out := map[string]File{}
	if len(items) == 0 {
		for k, v := range data {
			out[k] = File{Data: v, Mode: def}
		}
		return out, nil
	}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("configuration of %s does not have key %q", what, it.Key)
		}
		out[it.Path] = File{Data: v, Mode: itemMode(it.Mode, def)}
	}
	return out, nil
}

func (m *Manager) configMapFiles(ctx context.Context, ns, name string, items []v1.KeyToPath, opt *bool, def os.FileMode) (map[string]File, error) {
	optional := opt != nil && *opt
	obj, err := m.object(ctx, "configmap", ns, name)
	if err != nil {
		return nil, err
	}
	cm, _ := obj.(*v1.ConfigMap)
	if cm == nil {
		if optional {
			return map[string]File{}, nil
		}
		return nil, fmt.Errorf("configmap %q not found", name)
	}
	data := make(map[string][]byte, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return project(data, items, def, optional, "configmap "+ns+"/"+name)
}

func (m *Manager) secretFiles(ctx context.Context, ns, name string, items []v1.KeyToPath, opt *bool, def os.FileMode) (map[string]File, error) {
	optional := opt != nil && *opt
	obj, err := m.object(ctx, "secret", ns, name)
	if err != nil {
		return nil, err
	}
	s, _ := obj.(*v1.Secret)
	if s == nil {
		if optional {
			return map[string]File{}, nil
		}
		return nil, fmt.Errorf("secret %q not found", name)
	}
	return project(s.Data, items, def, optional, "secret "+ns+"/"+name)
}

// object fetches a ConfigMap or Secret, reusing a fetch younger than the
// TTL; a missing object is (nil, nil).
func (m *Manager) object(ctx context.Context, kind, ns, name string) (any, error) {
	key := kind + "/" + ns + "/" + name
	now := m.clock.Now()
	m.mu.Lock()
	c, ok := m.objects[key]
	m.mu.Unlock()
	if ok && now.Sub(c.fetched) < m.ttl {
		return c.obj, nil
	}
	var obj any
	var err error
	if kind == "configmap" {
		var cm *v1.ConfigMap
		cm, err = m.get.ConfigMap(ctx, ns, name)
		if cm != nil && err == nil {
			obj = cm
		}
	} else {
		var s *v1.Secret
		s, err = m.get.Secret(ctx, ns, name)
		if s != nil && err == nil {
			obj = s
		}
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	m.mu.Lock()
	m.objects[key] = cachedObject{obj: obj, fetched: now}
	m.mu.Unlock()
	return obj, nil
}

func downwardFiles(pod *v1.Pod, items []v1.DownwardAPIVolumeFile, def os.FileMode, fields Fields) (map[string]File, error) {
	out := map[string]File{}
	for _, it := range items {
		var v string
		var err error
		switch {
		case it.FieldRef != nil:
			switch it.FieldRef.FieldPath {
			case "metadata.labels":
				v = formatMap(pod.Labels)
			case "metadata.annotations":
				v = formatMap(pod.Annotations)
			default:
				v, err = fields.Field(it.FieldRef.FieldPath)
			}
		case it.ResourceFieldRef != nil:
			v, err = fields.Resource(it.ResourceFieldRef.ContainerName, it.ResourceFieldRef)
		}
		if err != nil {
			return nil, fmt.Errorf("downward API item %q: %w", it.Path, err)
		}
		out[it.Path] = File{Data: []byte(v), Mode: itemMode(it.Mode, def)}
	}
	return out, nil
}

// formatMap is upstream's `key="value"` lines, sorted by key.
func formatMap(m map[string]string) string {
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	return b.String()
}

func (m *Manager) projectedFiles(ctx context.Context, pod *v1.Pod, p *v1.ProjectedVolumeSource, fields Fields) (map[string]File, error) {
	def := mode(p.DefaultMode)
	out := map[string]File{}
	add := func(files map[string]File) {
		for k, v := range files {
			out[k] = v
		}
	}
	for _, src := range p.Sources {
		switch {
		case src.ConfigMap != nil:
			files, err := m.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def)
			if err != nil {
				return nil, err
			}
			add(files)
		case src.Secret != nil:
			files, err := m.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def)
			if err != nil {
				return nil, err
			}
			add(files)
		case src.DownwardAPI != nil:
			files, err := downwardFiles(pod, src.DownwardAPI.Items, def, fields)
			if err != nil {
				return nil, err
			}
			add(files)
		case src.ServiceAccountToken != nil:
			tok, err := m.token(ctx, pod, src.ServiceAccountToken)
			if err != nil {
				return nil, err
			}
			// Upstream writes the token 0600 unless the mode was set;
			// with runAsUser/fsGroup it stays readable as the default
			// mode says.
			add(map[string]File{src.ServiceAccountToken.Path: {Data: []byte(tok), Mode: def}})
		case src.ClusterTrustBundle != nil || src.PodCertificate != nil:
			return nil, fmt.Errorf("projected source not supported by this kubelet")
		}
	}
	return out, nil
}

// token returns a current token for the pod's service account: a cached
// one until 80% of its lifetime has passed (or it is older than 24 h),
// then a fresh one from the TokenRequest API bound to the pod.
func (m *Manager) token(ctx context.Context, pod *v1.Pod, src *v1.ServiceAccountTokenProjection) (string, error) {
	sa := pod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	exp := int64(3600)
	if src.ExpirationSeconds != nil {
		exp = *src.ExpirationSeconds
	}
	key := tokenKey{podUID: string(pod.UID), namespace: pod.Namespace, serviceAccount: sa, audience: src.Audience, expirationSeconds: exp}
	now := m.clock.Now()
	m.mu.Lock()
	tr := m.tokens[key]
	m.mu.Unlock()
	if tr != nil && !needsRefresh(tr, now) {
		return tr.Status.Token, nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	got, err := m.get.Token(ctx, pod.Namespace, sa, req)
	if err != nil {
		if tr != nil && now.Before(tr.Status.ExpirationTimestamp.Time) {
			// Keep serving the still valid token; retry next sync.
			return tr.Status.Token, nil
		}
		return "", fmt.Errorf("fetch token: %w", err)
	}
	// Remember when it was issued, for the 80% rule.
	got.CreationTimestamp.Time = now
	m.mu.Lock()
	m.tokens[key] = got
	m.mu.Unlock()
	return got.Status.Token, nil
}

// needsRefresh is upstream's rule: past 80% of the token's lifetime, or
// older than 24 hours.
func needsRefresh(tr *authenticationv1.TokenRequest, now time.Time) bool {
	issued := tr.CreationTimestamp.Time
	exp := tr.Status.ExpirationTimestamp.Time
	if now.After(exp) {
		return true
	}
	ttl := exp.Sub(issued)
	return now.After(issued.Add(ttl*8/10)) || now.Sub(issued) > 24*time.Hour
}

// ForgetPod drops the pod's cached tokens.
func (m *Manager) ForgetPod(uid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.tokens {
		if k.podUID == uid {
			delete(m.tokens, k)
		}
	}
}

// ensureTmpfs mounts a tmpfs on dir unless one is there already.
func ensureTmpfs(dir string, size *resource.Quantity) error {
	mounted, err := isMountPoint(dir)
	if err != nil || mounted {
		return err
	}
	opts := "mode=0755"
	if size != nil && !size.IsZero() {
		opts = fmt.Sprintf("mode=0755,size=%d", size.Value())
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// isMountPoint says whether dir is on another device than its parent.
func isMountPoint(dir string) (bool, error) {
	var st, parent syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return false, err
	}
	if err := syscall.Stat(filepath.Dir(dir), &parent); err != nil {
		return false, err
	}
	return st.Dev != parent.Dev, nil
}

// TearDown unmounts every volume mount under podDir/volumes and removes
// the volumes' directories (hostPath volumes are the host's and stay).
func TearDown(podDir string) error {
	root := filepath.Join(podDir, "volumes")
	plugins, err := os.ReadDir(root)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, p := range plugins {
		vols, _ := os.ReadDir(filepath.Join(root, p.Name()))
		for _, v := range vols {
			dir := filepath.Join(root, p.Name(), v.Name())
			if mounted, _ := isMountPoint(dir); mounted {
				if err := syscall.Unmount(dir, 0); err != nil {
					if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
						return fmt.Errorf("unmount %s: %w", dir, err)
					}
				}
			}
		}
	}
	return os.RemoveAll(root)
}

// ContainerMounts turns c's volumeMounts into OCI bind mounts from the
// volumes' host paths (SetUp's result). env expands subPathExpr.
func ContainerMounts(pod *v1.Pod, c *v1.Container, paths map[string]string, env map[string]string) ([]specs.Mount, error) {
	var out []specs.Mount
	for _, vm := range c.VolumeMounts {
		src, ok := paths[vm.Name]
		if !ok {
			return nil, fmt.Errorf("volumeMount %q: no volume of that name", vm.Name)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expandEnv(vm.SubPathExpr, env)
		}
		if sub != "" {
			if err := validSubPath(sub); err != nil {
				return nil, fmt.Errorf("volumeMount %q: %w", vm.Name, err)
			}
			full := filepath.Join(src, sub)
			if _, err := os.Lstat(full); os.IsNotExist(err) {
				// Upstream creates a missing subPath as a directory.
				if err := os.MkdirAll(full, 0o755); err != nil {
					return nil, fmt.Errorf("volumeMount %q: subPath: %w", vm.Name, err)
				}
			}
			// The subPath must not escape the volume through symlinks.
			real, err := filepath.EvalSymlinks(full)
			if err != nil {
				return nil, fmt.Errorf("volumeMount %q: subPath: %w", vm.Name, err)
			}
			base, err := filepath.EvalSymlinks(src)
			if err != nil {
				return nil, fmt.Errorf("volumeMount %q: %w", vm.Name, err)
			}
			if real != base && !strings.HasPrefix(real, base+"/") {
				return nil, fmt.Errorf("volumeMount %q: subPath %q is outside the volume", vm.Name, sub)
			}
			src = real
		}
		opts := []string{"rbind"}
		if vm.ReadOnly {
			opts = append(opts, "ro")
		} else {
			opts = append(opts, "rw")
		}
		switch {
		case vm.MountPropagation != nil && *vm.MountPropagation == v1.MountPropagationBidirectional:
			opts = append(opts, "rshared")
		case vm.MountPropagation != nil && *vm.MountPropagation == v1.MountPropagationHostToContainer:
			opts = append(opts, "rslave")
		default:
			opts = append(opts, "rprivate")
		}
		out = append(out, specs.Mount{Destination: vm.MountPath, Type: "bind", Source: src, Options: opts})
	}
	return out, nil
}

func validSubPath(p string) error {
	if filepath.IsAbs(p) {
		return fmt.Errorf("subPath %q must be relative", p)
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." {
			return fmt.Errorf("subPath %q must not contain '..'", p)
		}
	}
	return nil
}

// expandEnv replaces $(VAR) with env's values (unknown references stay).
func expandEnv(s string, env map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "$(")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.IndexByte(s[i:], ')')
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name := s[i+2 : i+j]
		b.WriteString(s[:i])
		if v, ok := env[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
}
