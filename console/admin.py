from django.contrib import admin

# The admin's home leads to the scheduler's dashboard (console/dashboard.py) first.
admin.site.index_template = "admin/scheduler/index.html"
