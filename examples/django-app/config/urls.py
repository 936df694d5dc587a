from django.urls import path

from config import views

urlpatterns = [
    path("", views.home),
    path("visits/", views.visits),
]
