package validation

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	certificatesv1 "k8s.io/api/certificates/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagemigrationv1 "k8s.io/api/storagemigration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// storedKindFixtures are valid objects of the kinds served for upstream's
// controllers (admission registration, certificates, dynamic resource allocation,
// storage version migration) that only get the generic metadata rules.
func storedKindFixtures() map[schema.GroupVersionKind][]runtime.Object {
	ns := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "default"} }
	cl := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	gvk := func(g, v, k string) schema.GroupVersionKind {
		return schema.GroupVersionKind{Group: g, Version: v, Kind: k}
	}
	return map[schema.GroupVersionKind][]runtime.Object{
		gvk("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration"):     {&admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: cl("mutator")}},
		gvk("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"):   {&admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: cl("validator")}},
		gvk("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy"):        {&admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: cl("replica-limit")}},
		gvk("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding"): {&admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: cl("replica-limit-binding")}},
		gvk("certificates.k8s.io", "v1", "CertificateSigningRequest"): {&certificatesv1.CertificateSigningRequest{ObjectMeta: cl("node-csr-abc"),
			Spec: certificatesv1.CertificateSigningRequestSpec{SignerName: "kubernetes.io/kube-apiserver-client-kubelet"}}},
		gvk("certificates.k8s.io", "v1", "PodCertificateRequest"): {&certificatesv1.PodCertificateRequest{ObjectMeta: ns("pcr-1")}},
		gvk("resource.k8s.io", "v1", "DeviceClass"):               {&resourcev1.DeviceClass{ObjectMeta: cl("gpu.example.com")}},
		gvk("resource.k8s.io", "v1", "DeviceTaintRule"):           {&resourcev1.DeviceTaintRule{ObjectMeta: cl("maintenance")}},
		gvk("resource.k8s.io", "v1", "ResourceClaim"):             {&resourcev1.ResourceClaim{ObjectMeta: ns("gpu-claim")}},
		gvk("resource.k8s.io", "v1", "ResourceClaimTemplate"):     {&resourcev1.ResourceClaimTemplate{ObjectMeta: ns("gpu-template")}},
		gvk("resource.k8s.io", "v1", "ResourceSlice"):             {&resourcev1.ResourceSlice{ObjectMeta: cl("node-1-gpu.example.com")}},
		gvk("storagemigration.k8s.io", "v1", "StorageVersionMigration"): {&storagemigrationv1.StorageVersionMigration{ObjectMeta: cl("secrets-migration"),
			Spec: storagemigrationv1.StorageVersionMigrationSpec{Resource: metav1.GroupResource{Resource: "secrets"}}}},
	}
}
