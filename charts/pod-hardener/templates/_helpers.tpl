{{/*
Names. With the default release name (pod-hardener) every object is named as in manifests/.
*/}}
{{- define "pod-hardener.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pod-hardener.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The Secret the self-managed certificates live in (the RBAC names it). */}}
{{- define "pod-hardener.certsSecret" -}}
{{- printf "%s-certs" (include "pod-hardener.fullname" .) -}}
{{- end -}}

{{/* The kubernetes.io/tls Secret mounted with cert-manager or manual certificates. */}}
{{- define "pod-hardener.tlsSecret" -}}
{{- if and (eq .Values.certificates.mode "manual") .Values.certificates.manual.secretName -}}
{{- .Values.certificates.manual.secretName -}}
{{- else -}}
{{- printf "%s-tls" (include "pod-hardener.fullname" .) -}}
{{- end -}}
{{- end -}}

{{- define "pod-hardener.guardName" -}}
{{- printf "%s-guard" (include "pod-hardener.fullname" .) -}}
{{- end -}}

{{/* The webhook's ports: fixed in the pod network, chosen by the operator on the node's. */}}
{{- define "pod-hardener.port" -}}
{{- if .Values.hostNetwork.enabled }}{{ .Values.hostNetwork.port }}{{ else }}8443{{ end -}}
{{- end -}}
{{- define "pod-hardener.metricsPort" -}}
{{- if .Values.hostNetwork.enabled }}{{ .Values.hostNetwork.metricsPort }}{{ else }}8080{{ end -}}
{{- end -}}

{{/* The mount of the serving certificate: config.yaml certificates.directory. */}}
{{- define "pod-hardener.tlsDirectory" -}}
/var/run/pod-hardener/tls
{{- end -}}

{{- define "pod-hardener.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pod-hardener.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "pod-hardener.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "pod-hardener.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: pod-hardener
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/*
The namespaces neither webhook nor guard ever handles: the control plane's and the webhook's own
(a webhook that must admit its own replacement pods can lock itself, and the cluster, out), then
the operator's.
*/}}
{{- define "pod-hardener.excludedNamespaces" -}}
{{- $all := concat (list "kube-system" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq -}}
{{- toYaml $all -}}
{{- end -}}

{{- define "pod-hardener.namespaceSelector" -}}
matchExpressions:
  - key: pod-hardener.io/enabled
    operator: In
    values: [{{ .enabled | quote }}]
  - key: kubernetes.io/metadata.name
    operator: NotIn
    values:
      {{- include "pod-hardener.excludedNamespaces" .root | nindent 6 }}
{{- end -}}

{{/*
config.yaml: values.config plus the keys tied to this chart's objects and ports.
*/}}
{{- define "pod-hardener.config" -}}
{{- $fullname := include "pod-hardener.fullname" . -}}
{{- $owned := dict
  "server" (dict "port" (include "pod-hardener.port" . | atoi) "metricsPort" (include "pod-hardener.metricsPort" . | atoi))
  "certificates" (dict
    "directory" (include "pod-hardener.tlsDirectory" .)
    "selfManaged" (dict "serviceName" $fullname "secretName" (include "pod-hardener.certsSecret" .) "webhookConfigurationName" $fullname)) -}}
{{- with .Values.imageIdentity.credentialsSecret -}}
{{- $_ := set $owned "imageIdentity" (dict "credentialsFile" (printf "%s/.dockerconfigjson" (include "pod-hardener.registryCredentialsDirectory" $))) -}}
{{- end -}}
{{- toYaml (mergeOverwrite (deepCopy .Values.config) $owned) -}}
{{- end -}}

{{/* Where the image identity credentials Secret is mounted (not under the ConfigMap's mount). */}}
{{- define "pod-hardener.registryCredentialsDirectory" -}}
/var/run/pod-hardener/registries
{{- end -}}

{{/*
A `*` pattern of the configuration as an RE2 expression matched against the whole value: each
literal part quoted, each `*` any run of characters (as `pod-hardener guard-params` writes it).
*/}}
{{- define "pod-hardener.globExpression" -}}
{{- $parts := list -}}
{{- range splitList "*" . }}{{ $parts = append $parts (regexQuoteMeta .) }}{{ end -}}
{{- join ".*" $parts -}}
{{- end -}}

{{/* The guard's parameters (RE2 expressions), from config.exceptions (as `pod-hardener guard-params` writes them). */}}
{{- define "pod-hardener.guardParams" -}}
{{- $e := .Values.config.exceptions | default dict -}}
{{- range list "skipNamespaces" "exemptContainers" "capabilityCeiling" -}}
{{- if not (kindIs "slice" (get $e .)) -}}
{{- fail (printf "config.exceptions.%s must be set: the guard's parameters are written from it" .) -}}
{{- end -}}
{{- end -}}
{{- $namespaces := list -}}
{{- range $e.skipNamespaces }}{{ $namespaces = append $namespaces (include "pod-hardener.globExpression" .) }}{{ end -}}
{{- $exempt := list -}}
{{- range $e.exemptContainers -}}
{{- $name := ".*" -}}
{{- if hasKey . "name" }}{{ $name = include "pod-hardener.globExpression" .name }}{{ end -}}
{{- $image := ".*" -}}
{{- if hasKey . "image" }}{{ $image = include "pod-hardener.globExpression" .image }}{{ end -}}
{{- $exempt = append $exempt (printf "%s=%s" $name $image) -}}
{{- end -}}
{{- $caps := list -}}
{{- range $e.capabilityCeiling }}{{ $caps = append $caps (regexQuoteMeta (trimPrefix "CAP_" (upper (trim .)))) }}{{ end -}}
skipNamespaces: {{ join "|" $namespaces | quote }}
exemptContainers: {{ join "|" $exempt | quote }}
capabilityCeiling: {{ ternary ".*" (join "|" $caps) (has "*" $e.capabilityCeiling) | quote }}
{{- end -}}


{{/*
The guard's parameters as the CEL string literals of its first three variables: backslash and
quote escaped.
*/}}
{{- define "pod-hardener.guardVariables" -}}
{{- range $name, $value := include "pod-hardener.guardParams" . | fromYaml }}
{{ $name }}: {{ printf "'%s'" ($value | replace "\\" "\\\\" | replace "'" "\\'") | quote }}
{{- end -}}
{{- end -}}

{{/*
Every setting of the mutating policy as its CEL literal variable (src/policy/params.ts writes the
same): the guard's three expressions, then the hardening values and switches.
*/}}
{{- define "pod-hardener.policyVariables" -}}
{{- $h := .Values.config.hardening | default dict -}}
{{- range list "runAsUser" "runAsGroup" "runAsNonRoot" "fsGroup" "seccompProfile" "unprivilegedPorts" "userNamespaces" -}}
{{- if not (hasKey $h .) -}}
{{- fail (printf "config.hardening.%s must be set: the policy is written from it" .) -}}
{{- end -}}
{{- end -}}
{{ include "pod-hardener.guardVariables" . }}
runAsUser: {{ int64 $h.runAsUser | toString | quote }}
runAsGroup: {{ int64 $h.runAsGroup | toString | quote }}
runAsNonRoot: {{ $h.runAsNonRoot | toString | quote }}
fsGroup: {{ $h.fsGroup | toString | quote }}
seccompProfile: {{ $h.seccompProfile | toString | quote }}
unprivilegedPorts: {{ eq (toString $h.unprivilegedPorts) "auto" | toString | quote }}
userNamespaces: {{ eq (toString $h.userNamespaces) "on" | toString | quote }}
supplementalGroupsStrict: {{ eq (toString (get $h "supplementalGroupsPolicy")) "strict" | toString | quote }}
{{- end -}}
