{{- define "twill.fullname" -}}
{{ .Release.Name }}-twill
{{- end }}

{{- define "twill.labels" -}}
app.kubernetes.io/name: twill
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end }}

{{- define "twill.selector" -}}
app.kubernetes.io/name: twill
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
