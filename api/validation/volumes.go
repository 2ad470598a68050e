package validation

import (
	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const fileModeErrorMsg = "must be a number between 0 and 0777 (octal), both inclusive"

func validateAnnotations(a map[string]string, p *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateAnnotations(a, p)
}

// validateVolumes checks names (DNS labels, unique) and that each volume has
// exactly one source; it returns the volumes by name for mount checks.
func validateVolumes(vols []corev1.Volume, p *field.Path) (map[string]*corev1.Volume, field.ErrorList) {
	var errs field.ErrorList
	byName := make(map[string]*corev1.Volume, len(vols))
	for i := range vols {
		v := &vols[i]
		ip := p.Index(i)
		np := ip.Child("name")
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(np, ""))
		case byName[v.Name] != nil:
			errs = append(errs, field.Duplicate(np, v.Name))
		default:
			errs = append(errs, dnsLabel(v.Name, np)...)
		}
		if v.Name != "" && byName[v.Name] == nil {
			byName[v.Name] = v
		}
		errs = append(errs, validateVolumeSource(&v.VolumeSource, ip)...)
	}
	return byName, errs
}

func validateVolumeSource(s *corev1.VolumeSource, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	n := 0
	one := func(name string, set bool) bool {
		if !set {
			return false
		}
		n++
		if n > 1 {
			errs = append(errs, field.Forbidden(p.Child(name), "may not specify more than 1 volume type"))
			return false
		}
		return true
	}
	if one("hostPath", s.HostPath != nil) {
		if s.HostPath.Path == "" {
			errs = append(errs, field.Required(p.Child("hostPath", "path"), ""))
		}
		if s.HostPath.Type != nil {
			errs = append(errs, oneOf(*s.HostPath.Type, p.Child("hostPath", "type"), false,
				corev1.HostPathUnset, corev1.HostPathDirectoryOrCreate, corev1.HostPathDirectory, corev1.HostPathFileOrCreate,
				corev1.HostPathFile, corev1.HostPathSocket, corev1.HostPathCharDev, corev1.HostPathBlockDev)...)
		}
	}
	if one("emptyDir", s.EmptyDir != nil) {
		if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Sign() < 0 {
			errs = append(errs, field.Forbidden(p.Child("emptyDir", "sizeLimit"), "SizeLimit field must be a valid resource quantity"))
		}
		errs = append(errs, oneOf(s.EmptyDir.Medium, p.Child("emptyDir", "medium"), false, corev1.StorageMediumDefault, corev1.StorageMediumMemory, corev1.StorageMediumHugePages)...)
	}
	if one("gitRepo", s.GitRepo != nil) && s.GitRepo.Repository == "" {
		errs = append(errs, field.Required(p.Child("gitRepo", "repository"), ""))
	}
	if one("secret", s.Secret != nil) {
		sp := p.Child("secret")
		if s.Secret.SecretName == "" {
			errs = append(errs, field.Required(sp.Child("secretName"), ""))
		}
		errs = append(errs, validateMode(s.Secret.DefaultMode, sp.Child("defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.Secret.Items, sp.Child("items"))...)
	}
	if one("configMap", s.ConfigMap != nil) {
		cp := p.Child("configMap")
		if s.ConfigMap.Name == "" {
			errs = append(errs, field.Required(cp.Child("name"), ""))
		}
		errs = append(errs, validateMode(s.ConfigMap.DefaultMode, cp.Child("defaultMode"))...)
		errs = append(errs, validateKeyToPaths(s.ConfigMap.Items, cp.Child("items"))...)
	}
	if one("nfs", s.NFS != nil) {
		if s.NFS.Server == "" {
			errs = append(errs, field.Required(p.Child("nfs", "server"), ""))
		}
		if s.NFS.Path == "" {
			errs = append(errs, field.Required(p.Child("nfs", "path"), ""))
		} else if s.NFS.Path[0] != '/' {
			errs = append(errs, field.Invalid(p.Child("nfs", "path"), s.NFS.Path, "must be an absolute path"))
		}
	}
	if one("persistentVolumeClaim", s.PersistentVolumeClaim != nil) && s.PersistentVolumeClaim.ClaimName == "" {
		errs = append(errs, field.Required(p.Child("persistentVolumeClaim", "claimName"), ""))
	}
	if one("downwardAPI", s.DownwardAPI != nil) {
		dp := p.Child("downwardAPI")
		errs = append(errs, validateMode(s.DownwardAPI.DefaultMode, dp.Child("defaultMode"))...)
		errs = append(errs, validateDownwardAPIItems(s.DownwardAPI.Items, dp.Child("items"))...)
	}
	if one("projected", s.Projected != nil) {
		errs = append(errs, validateProjected(s.Projected, p.Child("projected"))...)
	}
	if one("csi", s.CSI != nil) && s.CSI.Driver == "" {
		errs = append(errs, field.Required(p.Child("csi", "driver"), ""))
	}
	if one("ephemeral", s.Ephemeral != nil) && s.Ephemeral.VolumeClaimTemplate == nil {
		errs = append(errs, field.Required(p.Child("ephemeral", "volumeClaimTemplate"), ""))
	}
	if one("image", s.Image != nil) && s.Image.Reference == "" {
		errs = append(errs, field.Required(p.Child("image", "reference"), ""))
	}
	// Remaining in-tree and third-party sources: counted, not inspected.
	one("gcePersistentDisk", s.GCEPersistentDisk != nil)
	one("awsElasticBlockStore", s.AWSElasticBlockStore != nil)
	one("iscsi", s.ISCSI != nil)
	one("glusterfs", s.Glusterfs != nil)
	one("rbd", s.RBD != nil)
	one("flexVolume", s.FlexVolume != nil)
	one("cinder", s.Cinder != nil)
	one("cephfs", s.CephFS != nil)
	one("flocker", s.Flocker != nil)
	one("fc", s.FC != nil)
	one("azureFile", s.AzureFile != nil)
	one("vsphereVolume", s.VsphereVolume != nil)
	one("quobyte", s.Quobyte != nil)
	one("azureDisk", s.AzureDisk != nil)
	one("photonPersistentDisk", s.PhotonPersistentDisk != nil)
	one("portworxVolume", s.PortworxVolume != nil)
	one("scaleIO", s.ScaleIO != nil)
	one("storageos", s.StorageOS != nil)
	if n == 0 {
		errs = append(errs, field.Required(p, "must specify a volume type"))
	}
	return errs
}

func validateMode(mode *int32, p *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(p, *mode, fileModeErrorMsg)}
	}
	return nil
}

func validateKeyToPaths(items []corev1.KeyToPath, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		ip := p.Index(i)
		if it.Key == "" {
			errs = append(errs, field.Required(ip.Child("key"), ""))
		}
		if it.Path == "" {
			errs = append(errs, field.Required(ip.Child("path"), ""))
		} else {
			errs = append(errs, validateLocalDescendingPath(it.Path, ip.Child("path"))...)
		}
		errs = append(errs, validateMode(it.Mode, ip.Child("mode"))...)
	}
	return errs
}

func validateDownwardAPIItems(items []corev1.DownwardAPIVolumeFile, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, it := range items {
		ip := p.Index(i)
		if it.Path == "" {
			errs = append(errs, field.Required(ip.Child("path"), ""))
		} else {
			errs = append(errs, validateLocalDescendingPath(it.Path, ip.Child("path"))...)
		}
		errs = append(errs, validateMode(it.Mode, ip.Child("mode"))...)
		switch {
		case it.FieldRef != nil && it.ResourceFieldRef != nil:
			errs = append(errs, field.Invalid(ip, "resource", "fieldRef and resourceFieldRef can not be specified simultaneously"))
		case it.FieldRef != nil:
			errs = append(errs, validateFieldPath(it.FieldRef.FieldPath, volumeFieldPaths, ip.Child("fieldRef", "fieldPath"))...)
		case it.ResourceFieldRef != nil:
			if it.ResourceFieldRef.ContainerName == "" {
				errs = append(errs, field.Required(ip.Child("resourceFieldRef", "containerName"), ""))
			}
		default:
			errs = append(errs, field.Required(ip, "one of fieldRef and resourceFieldRef is required"))
		}
	}
	return errs
}

func validateProjected(s *corev1.ProjectedVolumeSource, p *field.Path) field.ErrorList {
	errs := validateMode(s.DefaultMode, p.Child("defaultMode"))
	for i, src := range s.Sources {
		sp := p.Child("sources").Index(i)
		n := 0
		if src.Secret != nil {
			n++
			if src.Secret.Name == "" {
				errs = append(errs, field.Required(sp.Child("secret", "name"), ""))
			}
			errs = append(errs, validateKeyToPaths(src.Secret.Items, sp.Child("secret", "items"))...)
		}
		if src.ConfigMap != nil {
			n++
			if src.ConfigMap.Name == "" {
				errs = append(errs, field.Required(sp.Child("configMap", "name"), ""))
			}
			errs = append(errs, validateKeyToPaths(src.ConfigMap.Items, sp.Child("configMap", "items"))...)
		}
		if src.DownwardAPI != nil {
			n++
			errs = append(errs, validateDownwardAPIItems(src.DownwardAPI.Items, sp.Child("downwardAPI", "items"))...)
		}
		if t := src.ServiceAccountToken; t != nil {
			n++
			tp := sp.Child("serviceAccountToken")
			if t.ExpirationSeconds != nil {
				if *t.ExpirationSeconds < 10*60 {
					errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration less than 10 minutes"))
				} else if *t.ExpirationSeconds > 1<<32 {
					errs = append(errs, field.Invalid(tp.Child("expirationSeconds"), *t.ExpirationSeconds, "may not specify a duration larger than 2^32 seconds"))
				}
			}
			if t.Path == "" {
				errs = append(errs, field.Required(tp.Child("path"), ""))
			}
		}
		if src.ClusterTrustBundle != nil {
			n++
		}
		if src.PodCertificate != nil {
			n++
		}
		if n > 1 {
			errs = append(errs, field.Forbidden(sp, "may not specify more than 1 volume type per source"))
		}
		if n == 0 {
			errs = append(errs, field.Required(sp, "must specify exactly one volume type"))
		}
	}
	return errs
}
