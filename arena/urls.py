from django.urls import path

from . import views

app_name = "arena"

urlpatterns = [
    path("", views.arena_page_view, name="home"),
    path("trial/", views.trial_page_view, name="trial"),
    path("leaderboard/", views.leaderboard_view, name="leaderboard"),
    path("versions/<int:version_id>/", views.version_arena_view, name="version-arena"),
    path("api/matches/<int:match_id>/", views.match_detail_view, name="api-match"),
    path("api/matches/<int:match_id>/vote/", views.match_vote_view, name="api-vote"),
]
