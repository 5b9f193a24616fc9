from rest_framework import viewsets


class SupplierViewSet(viewsets.GenericViewSet):
    pass


ContactViewSet = ContractViewSet = CertificationViewSet = SupplierViewSet
