package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/defaults"
	"github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"github.com/opencontainers/image-spec/identity"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// ErrImagePull says the image is not present and pulling it failed; the
// kubelet reports it as ErrImagePull, then ImagePullBackOff.
var ErrImagePull = errors.New("ErrImagePull")

// ErrImageNeverPull says the image is absent and the pull policy is Never.
var ErrImageNeverPull = errors.New("ErrImageNeverPull")

// pullTimeout bounds one pull attempt.
const pullTimeout = 60 * time.Second

// NormalizeImage turns a pod's image (busybox, foo/bar:1) into containerd's
// full reference (docker.io/library/busybox:latest).
func NormalizeImage(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("invalid image name %q: %w", image, err)
	}
	return reference.TagNameOnly(named).String(), nil
}

// Image is an image present and unpacked in the namespace.
type Image struct {
	Ref string // normalized reference
	ID  string // manifest digest
	img client.Image
}

// EnsureImage returns image, unpacked, pulling it first when it is absent
// or when always is set. A failed pull wraps ErrImagePull; absent with
// never set is ErrImageNeverPull.
func (r *Runtime) EnsureImage(ctx context.Context, image string, always, never bool) (Image, error) {
	ref, err := NormalizeImage(image)
	if err != nil {
		return Image{}, fmt.Errorf("%w: %w", ErrImagePull, err)
	}
	img, err := r.client.GetImage(ctx, ref)
	switch {
	case err == nil && !always:
	case err != nil && !errdefs.IsNotFound(err):
		return Image{}, fmt.Errorf("look up image %s: %w", ref, err)
	case never:
		return Image{}, fmt.Errorf("%w: container image %q is not present with pull policy of Never", ErrImageNeverPull, image)
	default:
		pctx, cancel := context.WithTimeout(ctx, pullTimeout)
		pulled, perr := r.client.Pull(pctx, ref, client.WithPullUnpack)
		cancel()
		if perr != nil {
			if err == nil { // present but Always: a failed pull still fails, as upstream
				return Image{}, fmt.Errorf("%w: failed to pull image %q: %w", ErrImagePull, image, perr)
			}
			return Image{}, fmt.Errorf("%w: failed to pull and unpack image %q: %w", ErrImagePull, image, perr)
		}
		img = pulled
	}
	meta, err := r.imageMeta(ctx, img)
	if err != nil {
		return Image{}, fmt.Errorf("image %s: %w", ref, err)
	}
	// The unpacked layers are the snapshot named by the chain ID.
	chainID := identity.ChainID(meta.diffIDs).String()
	if _, err := r.client.SnapshotService(defaults.DefaultSnapshotter).Stat(ctx, chainID); err != nil {
		if !errdefs.IsNotFound(err) {
			return Image{}, fmt.Errorf("image %s: %w", ref, err)
		}
		if err := img.Unpack(ctx, ""); err != nil {
			return Image{}, fmt.Errorf("unpack image %s: %w", ref, err)
		}
	}
	return Image{Ref: ref, ID: img.Target().Digest.String(), img: cachedImage{Image: img, meta: meta}}, nil
}

// imageMeta is what container creation reads of an image: its config
// (descriptor, bytes, parsed) and its layers' diff IDs. Reading them costs
// several content-store requests (index, manifest, config), so they are
// kept per image digest, which names immutable content.
type imageMeta struct {
	configDesc ocispec.Descriptor // with Data set: content.ReadBlob uses it as is
	spec       ocispec.Image
	diffIDs    []digest.Digest
	// users is the copy of the image's /etc/passwd and /etc/group
	// (imageusers.go).
	users imageUsers
}

func (r *Runtime) imageMeta(ctx context.Context, img client.Image) (*imageMeta, error) {
	key := img.Target().Digest
	r.mu.Lock()
	m := r.images[key]
	r.mu.Unlock()
	if m != nil {
		return m, nil
	}
	desc, err := img.Config(ctx)
	if err != nil {
		return nil, fmt.Errorf("config descriptor: %w", err)
	}
	blob, err := content.ReadBlob(ctx, img.ContentStore(), desc)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if digest.FromBytes(blob) != desc.Digest {
		return nil, fmt.Errorf("config %s: digest mismatch", desc.Digest)
	}
	m = &imageMeta{configDesc: desc}
	if err := json.Unmarshal(blob, &m.spec); err != nil {
		return nil, fmt.Errorf("parse config: %w", err)
	}
	m.configDesc.Data = blob
	m.diffIDs = m.spec.RootFS.DiffIDs
	r.mu.Lock()
	if r.images == nil {
		r.images = map[digest.Digest]*imageMeta{}
	}
	r.images[key] = m
	r.mu.Unlock()
	return m, nil
}

// cachedImage answers the config and layer questions of container creation
// (oci.WithImageConfig, WithNewSnapshot, Spec) from imageMeta.
type cachedImage struct {
	client.Image
	meta *imageMeta
}

func (i cachedImage) Config(context.Context) (ocispec.Descriptor, error) {
	return i.meta.configDesc, nil
}

func (i cachedImage) RootFS(context.Context) ([]digest.Digest, error) {
	return slices.Clone(i.meta.diffIDs), nil
}

func (i cachedImage) Spec(context.Context) (ocispec.Image, error) { return i.meta.spec, nil }

// ImportArchive imports an OCI or docker archive (names from its
// index.json annotations) and returns the image names.
func (r *Runtime) ImportArchive(ctx context.Context, path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	imgs, err := r.client.Import(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", path, err)
	}
	var names []string
	for _, i := range imgs {
		names = append(names, i.Name)
	}
	return names, nil
}

// ImageInfo is an image for the node's status.
type ImageInfo struct {
	Names []string
	Size  int64
}

// ListImages lists the namespace's images.
func (r *Runtime) ListImages(ctx context.Context) ([]ImageInfo, error) {
	imgs, err := r.client.ListImages(ctx)
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	byDigest := map[string]*ImageInfo{}
	var order []string
	for _, i := range imgs {
		d := i.Target().Digest.String()
		if byDigest[d] == nil {
			size, _ := i.Size(ctx)
			byDigest[d] = &ImageInfo{Size: size}
			order = append(order, d)
		}
		byDigest[d].Names = append(byDigest[d].Names, i.Name())
	}
	out := make([]ImageInfo, 0, len(order))
	for _, d := range order {
		out = append(out, *byDigest[d])
	}
	return out, nil
}
