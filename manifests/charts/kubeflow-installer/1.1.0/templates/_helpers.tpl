{{/* Labels every object of the release carries; `component` names the part of the installation. */}}
{{- define "kubeflow-installer.labels" -}}
app.kubernetes.io/name: kubeflow-installer
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* One Deployment of the installation: its pods run the stand-in image with componentResources. */}}
{{- define "kubeflow-installer.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" }}
  labels:
    {{- include "kubeflow-installer.labels" . | nindent 4 }}
spec:
  replicas: {{ .replicas }}
  selector:
    matchLabels:
      app.kubernetes.io/instance: {{ .root.Release.Name }}
      app.kubernetes.io/component: {{ .component }}
  template:
    metadata:
      labels:
        {{- include "kubeflow-installer.labels" . | nindent 8 }}
    spec:
      containers:
        - name: {{ .component }}
          image: {{ .root.Values.image }}
          command: ["sh", "-c", "echo {{ .component }} {{ .root.Chart.Version }} is up; exec sleep 86400"]
          env:
            - name: INSTALLER_CHART_VERSION
              value: {{ .root.Chart.Version | quote }}
          resources:
            {{- toYaml .root.Values.componentResources | nindent 12 }}
{{- end }}
