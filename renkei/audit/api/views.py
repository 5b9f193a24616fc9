from rest_framework import viewsets


class AuditEntryViewSet(viewsets.GenericViewSet):
    pass
