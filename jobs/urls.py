from django.urls import path

from . import evaluation_set_views, views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list_view, name="list"),
    path("new/", views.job_create_view, name="create"),
    path("<int:job_id>/", views.job_detail_view, name="detail"),
    path("<int:job_id>/log/", views.job_log_view, name="log"),
    path("<int:job_id>/cancel/", views.job_cancel_view, name="cancel"),
    path("<int:job_id>/resume/", views.job_resume_view, name="resume"),
    path("evaluation-sets/", evaluation_set_views.evaluation_set_list_view, name="evaluation-sets"),
]
