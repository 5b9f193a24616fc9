from django.http import HttpResponse


def _pending(request, *args, **kwargs):
    return HttpResponse(status=503)


supplier_list = supplier_create = supplier_detail = supplier_edit = supplier_delete = _pending
child_create = child_edit = child_delete = evidence_download = _pending
