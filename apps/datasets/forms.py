from django import forms


class DatasetRenameForm(forms.Form):
    name = forms.CharField(max_length=200, strip=True)
