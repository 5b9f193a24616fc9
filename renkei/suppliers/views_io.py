from django.http import HttpResponse


def _pending(request, *args, **kwargs):
    return HttpResponse(status=503)


import_upload = export = _pending
